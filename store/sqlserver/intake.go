package sqlserver

import (
	"context"
	"database/sql"
	"strconv"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

// Intake implements relay.Queue: it moves up to req.Limit rows from T_TTI into
// the inbox (or relay_dead, answering ERR in T_TTO) in the transaction that
// deletes them, holding the intake applock to commit, and leases there the
// commands that arrive at the head of their agent's queue.
func (s *Store) Intake(ctx context.Context, req relay.IntakeRequest, claim relay.ClaimRequest) (int, []relay.Job, error) {
	if req.Limit <= 0 {
		return 0, nil, nil
	}
	if claim.Owner == "" || claim.Limit <= 0 {
		claim = relay.ClaimRequest{}
	}
	// Look before taking the applock: an idle relay's poll is one seek.
	if err := s.check(); err != nil {
		return 0, nil, err
	}
	switch found, err := store.Exists(ctx, s.db, s.q.sql(qAnyTTI)); {
	case err != nil:
		return 0, nil, fail("intake", err)
	case !found:
		return 0, nil, nil
	}
	var taken int
	var jobs []relay.Job
	var full bool
	err := s.withRefusals(func(refused refusals) error {
		return s.inTx(ctx, "intake", func(tx *sql.Tx) error {
			if err := getAppLock(ctx, tx, s.intakeLock, "Transaction", lockWait); err != nil {
				return err
			}
			var err error
			taken, jobs, full, err = store.IntakeSteps{
				Depth: func(max int) (int, error) {
					var depth int64
					err := tx.QueryRowContext(ctx, s.q.sql(qInboxDepth), int64(max)).Scan(&depth)
					return int(depth), err
				},
				Take: func(limit int) ([]relay.Inbound, error) { return s.takeTTI(ctx, tx, limit) },
				More: func() (bool, error) { return store.Exists(ctx, tx, s.q.sql(qAnyTTI)) },
				Admit: func(msgs []relay.Inbound) ([]relay.Job, error) {
					_, jobs, err := s.admit(ctx, tx, msgs, req.Now, req.MaxFrame, claim, refused)
					return jobs, err
				},
			}.Run(req)
			return err
		})
	})
	if err != nil {
		return 0, nil, err
	}
	if full {
		return taken, jobs, relay.ErrInboxFull
	}
	return taken, jobs, nil
}

// takeTTI deletes the oldest limit rows of T_TTI (fewer when there are
// fewer), in statements of at most maxLockRows rows, and returns them in
// IS_TTI order.
func (s *Store) takeTTI(ctx context.Context, tx *sql.Tx, limit int) ([]relay.Inbound, error) {
	var msgs []relay.Inbound
	for len(msgs) < limit {
		n := min(limit-len(msgs), maxLockRows)
		got, err := s.takeSome(ctx, tx, n)
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, got...)
		if len(got) < n {
			break
		}
	}
	return msgs, nil
}

func (s *Store) takeSome(ctx context.Context, tx *sql.Tx, n int) ([]relay.Inbound, error) {
	rs, err := tx.QueryContext(ctx, s.q.sql(qTakeTTI), int64(n))
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var msgs []relay.Inbound
	for rs.Next() {
		var id int64
		var raw sql.NullString // a NULL from a lax ERP table is an empty, malformed message
		if err := rs.Scan(&id, &raw); err != nil {
			return nil, err
		}
		msgs = append(msgs, relay.Inbound{Source: relay.SourceERP, Ref: strconv.FormatInt(id, 10), Raw: raw.String})
	}
	return msgs, rs.Err()
}

// Enqueue implements relay.Sources for sources other than T_TTI: rejected
// messages are dead-lettered and journaled, but their ERR is not put in T_TTO
// (the bridge answers its client itself). It leases nothing.
func (s *Store) Enqueue(ctx context.Context, msgs []relay.Inbound, now time.Time, maxFrame int) ([]relay.Enqueued, error) {
	if len(msgs) == 0 {
		return []relay.Enqueued{}, nil
	}
	var out []relay.Enqueued
	err := s.inTx(ctx, "enqueue", func(tx *sql.Tx) error {
		out = nil
		if err := getAppLock(ctx, tx, s.intakeLock, "Transaction", lockWait); err != nil {
			return err
		}
		// nothing of a bridge's goes to T_TTO: no refusals to isolate
		a, _, err := s.admit(ctx, tx, msgs, now, maxFrame, relay.ClaimRequest{}, nil)
		if err != nil {
			return err
		}
		out = a.Results
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// admit writes a batch of messages (the caller holds the intake applock):
// inbox rows, dead letters, and under the output applock the journal and
// the ERR replies due to the ERP (those it refuses isolated, see
// withRefusals: the rows are taken all the same). With a lease owner it leases, up to
// claim.Limit, the commands that arrive at the head of their agent's
// queue: the agent's first in the batch, with nothing of the agent in the
// inbox (the intake applock guarantees every older command is there).
func (s *Store) admit(ctx context.Context, tx *sql.Tx, msgs []relay.Inbound, now time.Time, maxFrame int,
	claim relay.ClaimRequest, refused refusals) (*store.Admissions, []relay.Job, error) {
	a, err := store.Admit(msgs, now, maxFrame, func(agents []string) (map[string]bool, error) {
		return s.busy(ctx, tx, agents)
	})
	if err != nil {
		return nil, nil, err
	}
	rows := make([]inboxInsert, len(a.Inbox))
	for i, r := range a.Inbox {
		rows[i] = inboxInsert{InboxRow: r}
	}
	if claim.Owner != "" && claim.Limit > 0 {
		if err := s.markArrivals(ctx, tx, rows, claim.Limit); err != nil {
			return nil, nil, err
		}
	}
	ids, err := s.insertInbox(ctx, tx, rows, now, claim)
	if err != nil {
		return nil, nil, err
	}
	if err := s.insertDead(ctx, tx, a.Dead); err != nil {
		return nil, nil, err
	}
	// a.Outbox are the journal's replies that go to T_TTO (store.ToOutbox)
	if err := s.writeOutput(ctx, tx, a.Journal(ids), refused); err != nil {
		return nil, nil, err
	}
	var jobs []relay.Job
	for i, r := range rows {
		if r.leased {
			jobs = append(jobs, relay.Job{ID: ids[i], Source: r.Source, Ref: r.Ref, Agent: r.Agent, Verb: r.Verb,
				Frame: r.Frame, Attempts: 1, EnqueuedAt: micro(now), Owner: claim.Owner})
		}
	}
	return a, jobs, nil
}

// markArrivals marks for leasing the first limit rows (in arrival order)
// that are their agent's first in the batch, a command (not a held refusal),
// of an agent with nothing in the inbox.
func (s *Store) markArrivals(ctx context.Context, tx *sql.Tx, rows []inboxInsert, limit int) error {
	first := map[string]int{}
	var agents []string
	for i, r := range rows {
		if _, seen := first[r.Agent]; seen {
			continue
		}
		first[r.Agent] = i
		if !r.Verb.IsRefused() {
			agents = append(agents, r.Agent)
		}
	}
	if len(agents) == 0 {
		return nil
	}
	busy, err := s.busy(ctx, tx, agents)
	if err != nil {
		return err
	}
	n := 0
	for i := range rows {
		r := &rows[i]
		if n < limit && first[r.Agent] == i && !r.Verb.IsRefused() && !busy[r.Agent] {
			r.leased = true
			n++
		}
	}
	return nil
}

// busy says which of agents have commands in the inbox.
func (s *Store) busy(ctx context.Context, tx *sql.Tx, agents []string) (map[string]bool, error) {
	b := s.q.batch(bBusy)
	out := make(map[string]bool, len(agents))
	err := store.Each(len(agents), b.maxRows, func(lo, hi int) error {
		return store.EachRow(ctx, tx, b.SQL(hi-lo), store.Args(agents[lo:hi]), func(rs *sql.Rows) error {
			var agent string
			var has int
			if err := rs.Scan(&agent, &has); err != nil {
				return err
			}
			if has == 1 {
				out[agent] = true
			}
			return nil
		})
	})
	return out, err
}
