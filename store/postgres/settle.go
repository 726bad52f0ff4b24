package postgres

import (
	"context"
	"database/sql"
	"slices"
	"time"

	"github.com/lib/pq"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

// settleArgs are the parallel arrays of sql/settle.sql.
type settleArgs struct {
	id, attempts                         []int64
	owner, kind, notBefore, reason, code []string
	agent                                []string
	replyIdx                             []int64
	replyFrame, replyOutcome             []string
}

func newSettleArgs(outcomes []relay.Outcome) *settleArgs {
	// Only the first outcome for any one lease counts: one statement must
	// not change a row twice. Outcomes for other leases of the same job
	// stay: the fence lets at most one of them apply.
	remove, retry := store.SplitOutcomes(outcomes)
	keep := slices.Concat(remove, retry)
	slices.Sort(keep)
	n := len(keep)
	a := &settleArgs{
		id: make([]int64, 0, n), attempts: make([]int64, 0, n), owner: make([]string, 0, n), kind: make([]string, 0, n),
		notBefore: make([]string, 0, n), reason: make([]string, 0, n), code: make([]string, 0, n), agent: make([]string, 0, n),
		replyIdx: make([]int64, 0, n), replyFrame: make([]string, 0, n), replyOutcome: make([]string, 0, n),
	}
	for _, i := range keep {
		o := outcomes[i]
		a.id = append(a.id, o.Job.ID)
		a.attempts = append(a.attempts, int64(o.Job.Attempts))
		a.owner = append(a.owner, o.Job.Owner)
		a.agent = append(a.agent, o.Job.Agent)
		a.reason = append(a.reason, o.Reason)
		kind, notBefore, code := "done", "", ""
		switch o.Kind {
		case relay.Retry:
			kind, notBefore = "retry", tsText(o.NotBefore)
		case relay.Dead:
			kind, code = "dead", store.ErrCode(o.Replies)
		}
		a.kind = append(a.kind, kind)
		a.notBefore = append(a.notBefore, notBefore)
		a.code = append(a.code, code)
		for _, f := range o.Replies {
			a.replyIdx = append(a.replyIdx, int64(len(a.id))) // 1-based ordinal of this outcome
			a.replyFrame = append(a.replyFrame, f.String())
			a.replyOutcome = append(a.replyOutcome, store.ReplyOutcome(f))
		}
	}
	return a
}

// Settle implements relay.Queue: the whole batch is one statement
// (sql/settle.sql), fenced row by row on owner and attempt, which also leases
// the next command of each agent whose command finished.
func (s *Store) Settle(ctx context.Context, outcomes []relay.Outcome, now time.Time, claim relay.ClaimRequest) (int, []relay.Job, error) {
	if len(outcomes) == 0 {
		return 0, nil, nil
	}
	st, err := s.stmt(ctx, qSettle)
	if err != nil {
		return 0, nil, fail("settle", err)
	}
	a := newSettleArgs(outcomes)
	owner, until := claim.Owner, claim.LeaseUntil
	if until.IsZero() {
		until = now
	}
	rs, err := st.QueryContext(ctx, pq.Array(a.id), pq.Array(a.owner), pq.Array(a.attempts), pq.Array(a.kind),
		pq.Array(a.notBefore), pq.Array(a.reason), pq.Array(a.code),
		pq.Array(a.replyIdx), pq.Array(a.replyFrame), pq.Array(a.replyOutcome), micro(now),
		owner, micro(until), max(claim.Limit, 0), pq.Array(a.agent))
	if err != nil {
		return 0, nil, fail("settle", err)
	}
	defer rs.Close()
	var n int
	var jobs []relay.Job
	for rs.Next() {
		var id, attempts sql.NullInt64
		var source, ref, agent, verb, frame sql.NullString
		var enq sql.NullTime
		if err := rs.Scan(&n, &id, &source, &ref, &agent, &verb, &frame, &attempts, &enq); err != nil {
			return 0, nil, fail("settle", err)
		}
		if id.Valid {
			jobs = append(jobs, relay.Job{ID: id.Int64, Source: source.String, Ref: ref.String, Agent: agent.String,
				Verb: relay.Verb(verb.String), Frame: frame.String, Attempts: int(attempts.Int64),
				EnqueuedAt: enq.Time.UTC(), Owner: owner})
		}
	}
	if err := rs.Err(); err != nil {
		return 0, nil, fail("settle", err)
	}
	store.SortJobs(jobs)
	return n, jobs, nil
}

// Publish implements relay.Queue in one statement (sql/publish.sql).
func (s *Store) Publish(ctx context.Context, events []relay.Frame, now time.Time) error {
	if len(events) == 0 {
		return nil
	}
	st, err := s.stmt(ctx, qPublish)
	if err != nil {
		return fail("publish", err)
	}
	agents := make([]string, len(events))
	frames := make([]string, len(events))
	for i, f := range events {
		agents[i], frames[i] = f.Login(), f.String()
	}
	_, err = st.ExecContext(ctx, pq.Array(agents), pq.Array(frames), micro(now))
	return fail("publish", err)
}
