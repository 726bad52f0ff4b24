package postgres

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
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
	n, jobs, err := runSettle(ctx, st, newSettleArgs(outcomes), now, claim)
	if errors.Is(err, relay.ErrDataRejected) {
		// A reply the ERP's table refuses: again, one output at a time.
		return s.settleIsolated(ctx, outcomes, now, claim)
	}
	return n, jobs, err
}

// runSettle runs sql/settle.sql with the arguments a.
func runSettle(ctx context.Context, st *sqlx.Stmt, a *settleArgs, now time.Time, claim relay.ClaimRequest) (int, []relay.Job, error) {
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

// settleIsolated settles outcomes one at a time in one transaction, each
// without its replies, then writes the replies of those applied one at a
// time (writeOutput), so only a refused one is dead-lettered.
func (s *Store) settleIsolated(ctx context.Context, outcomes []relay.Outcome, now time.Time, claim relay.ClaimRequest) (int, []relay.Job, error) {
	var applied int
	var jobs []relay.Job
	err := s.isolated(ctx, "settle", func(tx *sqlx.Tx, settle *sqlx.Stmt, output outputStmts) error {
		remove, retry := store.SplitOutcomes(outcomes)
		keep := slices.Concat(remove, retry)
		slices.Sort(keep)
		for _, i := range keep {
			o := outcomes[i]
			a := newSettleArgs([]relay.Outcome{o})
			a.replyIdx, a.replyFrame, a.replyOutcome = nil, nil, nil
			c := claim
			c.Limit = max(claim.Limit-len(jobs), 0)
			n, more, err := runSettle(ctx, settle, a, now, c)
			if err != nil {
				return err
			}
			applied += n
			jobs = append(jobs, more...)
			if n == 0 || o.Kind == relay.Retry {
				continue // taken over: its replies are not ours to write
			}
			j := o.Job
			w := store.PlanSettle([]relay.Outcome{o}, []int{0}, []store.Removed{{ID: j.ID, Owner: j.Owner, Attempts: j.Attempts,
				Source: j.Source, Ref: j.Ref, Agent: j.Agent, Verb: j.Verb, Frame: j.Frame, EnqueuedAt: j.EnqueuedAt}}, now)
			for _, r := range w.Journal {
				if err := s.writeOutput(ctx, tx, output, r, true); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	store.SortJobs(jobs)
	return applied, jobs, nil
}

// outputStmts are the statements writing one output, prepared on a
// transaction.
type outputStmts struct{ write, refused *sqlx.Stmt }

// isolated runs fn in one transaction with the settle and output
// statements prepared on it.
func (s *Store) isolated(ctx context.Context, op string, fn func(tx *sqlx.Tx, settle *sqlx.Stmt, output outputStmts) error) error {
	var st [3]*sqlx.Stmt
	for i, q := range []query{qSettle, qOutput, qRefused} {
		var err error
		if st[i], err = s.stmt(ctx, q); err != nil {
			return fail(op, err)
		}
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fail(op, err)
	}
	out := outputStmts{write: tx.StmtxContext(ctx, st[1]), refused: tx.StmtxContext(ctx, st[2])}
	if err := fn(tx, tx.StmtxContext(ctx, st[0]), out); err != nil {
		_ = tx.Rollback()
		return fail(op, err)
	}
	return fail(op+": commit", tx.Commit())
}

// writeOutput writes one output under a savepoint (sql/output.sql); when
// the database refuses it for its data (too long for the ERP's DS_TTO, its
// encoding, a constraint or trigger of the ERP's) it is rolled back and
// recorded in relay_dead with the database's error instead, and journaled
// all the same.
//
// journal false leaves out the journal row (written already).
func (s *Store) writeOutput(ctx context.Context, tx *sqlx.Tx, st outputStmts, r store.JournalRow, journal bool) error {
	var latency any
	if r.HasLatency {
		latency = r.Latency.Microseconds()
	}
	args := []any{micro(r.At), r.Kind, r.Agent, r.Frame, r.Origin, store.NullString(r.Ref), store.NullID(r.InboxID),
		store.NullString(r.Outcome), latency}
	if _, err := tx.ExecContext(ctx, "SAVEPOINT relay_output"); err != nil {
		return err
	}
	_, err := st.write.ExecContext(ctx, append(args, store.ToOutbox(r), journal)...)
	if err != nil {
		if !dataRejected(err) {
			return err
		}
		if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT relay_output"); rerr != nil {
			return rerr
		}
		table := s.names["tto"]
		d := store.RefusedOutput(r, table, driverMessage(err))
		s.log.Error("output refused by the database: dead-lettered", "table", table, "kind", r.Kind,
			"agent", r.Agent, "frame", r.Frame, "err", err)
		if short, ok := store.ShortReply(r); ok && store.ToOutbox(r) {
			shortArgs := slices.Clone(args)
			shortArgs[3] = short
			_, err := st.write.ExecContext(ctx, append(shortArgs, true, false)...)
			switch {
			case err == nil:
				d.Reason = store.ShortenedReason(d.Reason, short)
			case !dataRejected(err):
				return err
			default:
				if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT relay_output"); rerr != nil {
					return rerr
				}
			}
		}
		_, err = st.refused.ExecContext(ctx, append(args, d.Reason, micro(d.EnqueuedAt), journal)...)
		if err != nil && dataRejected(err) {
			// Not even the relay's own tables hold it: the database's
			// encoding lacks a character of the frame (LATIN1 and a "€").
			// Recorded with those characters escaped, not lost.
			if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT relay_output"); rerr != nil {
				return rerr
			}
			args[3] = store.EscapeNonASCII(r.Frame)
			_, err = st.refused.ExecContext(ctx, append(args, store.EscapeNonASCII(d.Reason), micro(d.EnqueuedAt), journal)...)
		}
		if err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, "RELEASE SAVEPOINT relay_output")
	return err
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
	err = fail("publish", err)
	if errors.Is(err, relay.ErrDataRejected) {
		// An event the ERP's table refuses: again, one at a time.
		journal, _ := store.EventRows(events, now)
		err = s.isolated(ctx, "publish", func(tx *sqlx.Tx, _ *sqlx.Stmt, output outputStmts) error {
			for _, r := range journal {
				if err := s.writeOutput(ctx, tx, output, r, true); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return err
}
