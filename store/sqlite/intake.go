package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"strconv"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

// Intake implements relay.Queue: it moves up to req.Limit rows from T_TTI into
// the inbox (or relay_dead) in one transaction, leasing in the same
// transaction the commands that arrive at the head of their agent's queue.
func (s *Store) Intake(ctx context.Context, req relay.IntakeRequest, claim relay.ClaimRequest) (int, []relay.Job, error) {
	if req.Limit <= 0 {
		return 0, nil, nil
	}
	// Look before taking the write lock: an idle relay polling an empty
	// T_TTI must not keep the ERP's writers waiting.
	switch found, err := store.Exists(ctx, s.db, s.q.anyTTI); {
	case err != nil:
		return 0, nil, fail(ctx, "intake", err)
	case !found:
		if w := s.running(); w != nil {
			w.intakeDone(0, req.Limit, false)
		}
		return 0, nil, nil
	}
	var taken int
	var jobs []relay.Job
	var full bool
	err := s.inTx(ctx, "intake", func(tx *sql.Tx) error {
		var err error
		taken, jobs, full, err = store.IntakeSteps{
			Depth: func(max int) (int, error) {
				var depth int
				err := tx.QueryRowContext(ctx, s.q.inboxDepth, max).Scan(&depth)
				return depth, err
			},
			Take: func(limit int) ([]relay.Inbound, error) { return s.takeTTI(ctx, tx, limit) },
			More: func() (bool, error) { return store.Exists(ctx, tx, s.q.anyTTI) },
			Admit: func(msgs []relay.Inbound) ([]relay.Job, error) {
				a, err := s.admit(ctx, tx, msgs, req.Now, req.MaxFrame)
				if err != nil {
					return nil, err
				}
				return s.leaseArrivals(ctx, tx, a, claim)
			},
		}.Run(req)
		return err
	})
	if err != nil {
		return 0, nil, err
	}
	if w := s.running(); w != nil {
		w.intakeDone(taken, req.Limit, full)
	}
	if full {
		return taken, jobs, relay.ErrInboxFull
	}
	return taken, jobs, nil
}

// leaseArrivals leases up to claim.Limit of the commands just admitted that
// are the oldest of their agent, oldest first. The transaction is SQLite's
// only writer, so nothing older can be on its way.
func (s *Store) leaseArrivals(ctx context.Context, tx *sql.Tx, a *store.Admissions, claim relay.ClaimRequest) ([]relay.Job, error) {
	if claim.Owner == "" || claim.Limit <= 0 || len(a.Inbox) == 0 {
		return nil, nil
	}
	first := map[string]int64{} // each agent's first command in the batch
	var agents []string
	k := 0 // a.Inbox holds the admitted messages in order
	for _, r := range a.Results {
		if r.Err != nil {
			continue
		}
		agent := a.Inbox[k].Agent
		k++
		if _, seen := first[agent]; !seen {
			first[agent] = r.ID
			agents = append(agents, agent)
		}
	}
	var heads []int64
	err := store.Each(len(agents), maxRows, func(lo, hi int) error {
		return store.EachRow(ctx, tx, s.q.headOf.SQL(hi-lo), store.Args(agents[lo:hi]), func(rs *sql.Rows) error {
			var agent string
			var oldest int64
			if err := rs.Scan(&agent, &oldest); err != nil {
				return err
			}
			if oldest == first[agent] {
				heads = append(heads, oldest)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(heads)
	return s.leaseIDs(ctx, tx, heads[:min(len(heads), claim.Limit)], claim)
}

// takeTTI deletes the oldest rows of T_TTI and returns them in IS_TTI order.
func (s *Store) takeTTI(ctx context.Context, tx *sql.Tx, limit int) ([]relay.Inbound, error) {
	type row struct {
		id  int64
		raw string
	}
	rs, err := tx.QueryContext(ctx, s.q.takeTTI, limit)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var rows []row
	for rs.Next() {
		var r row
		var raw sql.NullString // a NULL from a lax ERP table is an empty, malformed message
		if err := rs.Scan(&r.id, &raw); err != nil {
			return nil, err
		}
		r.raw = raw.String
		rows = append(rows, r)
	}
	if err := rs.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(rows, func(a, b row) int { return cmp.Compare(a.id, b.id) })
	if len(rows) > 0 && rows[len(rows)-1].id > renumberAbove {
		if err := s.renumberTTI(ctx, tx); err != nil {
			return nil, err
		}
	}
	msgs := make([]relay.Inbound, len(rows))
	for i, r := range rows {
		msgs[i] = relay.Inbound{Source: relay.SourceERP, Ref: strconv.FormatInt(r.id, 10), Raw: r.raw}
	}
	return msgs, nil
}

// Enqueue records messages from bridges and the CLI like Intake does, in one
// transaction; ERR replies to rejected ones are journaled, not put in T_TTO.
func (s *Store) Enqueue(ctx context.Context, msgs []relay.Inbound, now time.Time, maxFrame int) ([]relay.Enqueued, error) {
	if len(msgs) == 0 {
		return []relay.Enqueued{}, nil
	}
	var out []relay.Enqueued
	err := s.inTx(ctx, "enqueue", func(tx *sql.Tx) error {
		a, err := s.admit(ctx, tx, msgs, now, maxFrame)
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

// admit writes a batch of messages: inbox rows, dead letters, journal and the
// ERR replies due to the ERP.
func (s *Store) admit(ctx context.Context, tx *sql.Tx, msgs []relay.Inbound, now time.Time, maxFrame int) (*store.Admissions, error) {
	a, err := store.Admit(msgs, now, maxFrame, func(agents []string) (map[string]bool, error) {
		return s.busy(ctx, tx, agents)
	})
	if err != nil {
		return nil, err
	}
	ids, err := insertInbox(ctx, tx, s.q.inbox, a.Inbox, now)
	if err != nil {
		return nil, err
	}
	if len(ids) != len(a.Inbox) {
		return nil, errCount("inbox ids", len(ids), len(a.Inbox))
	}
	if err := insertDead(ctx, tx, s.q.dead, a.Dead); err != nil {
		return nil, err
	}
	journal := a.Journal(ids)
	if err := insertJournal(ctx, tx, s.q.journalRows, journal); err != nil {
		return nil, err
	}
	if err := insertTTO(ctx, tx, s.q.tto, a.Outbox); err != nil {
		if !isDataError(err) {
			return nil, err
		}
		// An ERR reply the ERP's T_TTO refuses. SQLite undid the statement
		// only: the replies go again one at a time, the refused one to
		// relay_dead, and the rows are taken all the same.
		var replies []store.JournalRow
		for _, r := range journal {
			if r.Kind == relay.KindReply && store.ToOutbox(r) {
				replies = append(replies, r)
			}
		}
		if err := s.writeEach(ctx, tx, replies, false); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// busy says which of agents have commands in the inbox: a message refused
// for one of them waits behind those commands for its ERR.
func (s *Store) busy(ctx context.Context, tx *sql.Tx, agents []string) (map[string]bool, error) {
	out := make(map[string]bool, len(agents))
	err := store.Each(len(agents), maxRows, func(lo, hi int) error {
		return store.EachRow(ctx, tx, s.q.headOf.SQL(hi-lo), store.Args(agents[lo:hi]), func(rs *sql.Rows) error {
			var agent string
			var oldest sql.NullInt64
			if err := rs.Scan(&agent, &oldest); err != nil {
				return err
			}
			if oldest.Valid {
				out[agent] = true
			}
			return nil
		})
	})
	return out, err
}
