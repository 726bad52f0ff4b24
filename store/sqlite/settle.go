package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

// Settle implements relay.Queue: it applies outcomes in one transaction. Each
// statement covers the whole batch; the fence (still running, same owner,
// same attempt) is part of the DELETE and UPDATE, so a stale outcome changes
// nothing and is not counted. The same transaction leases the next command
// of each agent whose command was removed, when it is ready at claim.Now.
func (s *Store) Settle(ctx context.Context, outcomes []relay.Outcome, now time.Time, claim relay.ClaimRequest) (int, []relay.Job, error) {
	if len(outcomes) == 0 {
		return 0, nil, nil
	}
	applied, jobs, err := s.settleTx(ctx, outcomes, now, claim, false)
	if errors.Is(err, relay.ErrDataRejected) {
		// A reply the ERP's table refuses: again, one output at a time.
		applied, jobs, err = s.settleTx(ctx, outcomes, now, claim, true)
	}
	if err != nil {
		return 0, nil, err
	}
	return applied, jobs, nil
}

// settleTx settles in one transaction. isolate writes the outputs one at a
// time, each refused one to relay_dead instead (writeOutputs).
func (s *Store) settleTx(ctx context.Context, outcomes []relay.Outcome, now time.Time, claim relay.ClaimRequest, isolate bool) (int, []relay.Job, error) {
	remove, retry := store.SplitOutcomes(outcomes)
	var applied int
	var jobs []relay.Job
	err := s.inTx(ctx, "settle", func(tx *sql.Tx) error {
		removed, err := s.removeFenced(ctx, tx, outcomes, remove)
		if err != nil {
			return err
		}
		w := store.PlanSettle(outcomes, remove, removed, now)
		if isolate {
			err = s.writeOutputs(ctx, tx, w.Journal)
		} else if err = insertJournal(ctx, tx, s.q.journalRows, w.Journal); err == nil {
			err = insertTTO(ctx, tx, s.q.tto, w.Outbox)
		}
		if err != nil {
			return err
		}
		if err := insertDead(ctx, tx, s.q.dead, w.Dead); err != nil {
			return err
		}
		retried, err := s.retryFenced(ctx, tx, outcomes, retry)
		if err != nil {
			return err
		}
		applied = w.Applied + retried
		jobs, err = s.leaseNext(ctx, tx, removed, claim)
		return err
	})
	return applied, jobs, err
}

// leaseNext leases up to claim.Limit of the commands that the removed ones
// leave at the head of their agents' queues, oldest first.
func (s *Store) leaseNext(ctx context.Context, tx *sql.Tx, removed []store.Removed, claim relay.ClaimRequest) ([]relay.Job, error) {
	if claim.Limit <= 0 || len(removed) == 0 {
		return nil, nil
	}
	if len(removed) <= claim.Limit {
		// Removed commands are of distinct agents (one in flight each), so
		// there is at most one next command per removed one: all fit.
		return s.leaseAllNext(ctx, tx, removed, claim)
	}
	var next []int64
	err := store.Each(len(removed), maxRows, func(lo, hi int) error {
		args := make([]any, 0, s.q.next.Fixed+(hi-lo)*s.q.next.Params)
		args = append(args, micros(claim.Now))
		for _, r := range removed[lo:hi] {
			args = append(args, r.Agent, r.ID)
		}
		var err error
		next, err = store.QueryIDs(ctx, tx, next, s.q.next.SQL(hi-lo), args...)
		return err
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(next)
	return s.leaseIDs(ctx, tx, next[:min(len(next), claim.Limit)], claim)
}

// leaseAllNext leases the next command of every agent in removed that has
// one ready, in one statement per run of rows.
func (s *Store) leaseAllNext(ctx context.Context, tx *sql.Tx, removed []store.Removed, claim relay.ClaimRequest) ([]relay.Job, error) {
	fixed := []any{claim.Owner, micros(claim.LeaseUntil), micros(claim.Now)}
	return s.leaseRows(ctx, tx, s.q.leaseNext, fixed, len(removed), claim.Owner, func(args []any, i int) []any {
		return append(args, removed[i].Agent, removed[i].ID)
	})
}

// leaseIDs leases the ready commands with the given ids to claim.Owner
// and returns them in id order.
func (s *Store) leaseIDs(ctx context.Context, tx *sql.Tx, ids []int64, claim relay.ClaimRequest) ([]relay.Job, error) {
	fixed := []any{claim.Owner, micros(claim.LeaseUntil)}
	return s.leaseRows(ctx, tx, s.q.lease, fixed, len(ids), claim.Owner, func(args []any, i int) []any {
		return append(args, ids[i])
	})
}

// leaseRows runs a leasing batch statement over n rows (fixed parameters
// first, then row appends each row's) and returns the jobs it leased in id
// order.
func (s *Store) leaseRows(ctx context.Context, tx *sql.Tx, b *store.Batch, fixed []any, n int, owner string, row func([]any, int) []any) ([]relay.Job, error) {
	var jobs []relay.Job
	err := store.Each(n, maxRows, func(lo, hi int) error {
		args := append(make([]any, 0, len(fixed)+(hi-lo)*b.Params), fixed...)
		for i := lo; i < hi; i++ {
			args = row(args, i)
		}
		rs, err := tx.QueryContext(ctx, b.SQL(hi-lo), args...)
		if err != nil {
			return err
		}
		more, err := store.ScanJobs(rs, owner, store.UnixMicros)
		jobs = append(jobs, more...)
		return err
	})
	store.SortJobs(jobs)
	return jobs, err
}

// removeFenced deletes the inbox rows of Done and Dead outcomes still held
// as the outcome says, and returns them as they were: the job each outcome
// carries, since the fence matched its very lease (a row's other columns
// never change), so the statement returns only the fence.
func (s *Store) removeFenced(ctx context.Context, tx *sql.Tx, outcomes []relay.Outcome, idx []int) ([]store.Removed, error) {
	var removed []store.Removed
	err := store.Each(len(idx), maxRows, func(lo, hi int) error {
		args := make([]any, 0, (hi-lo)*s.q.remove.Params)
		jobs := make(store.Fenced, hi-lo)
		for _, i := range idx[lo:hi] {
			j := outcomes[i].Job
			args = append(args, j.ID, j.Owner, j.Attempts)
			jobs.Add(j)
		}
		return store.EachRow(ctx, tx, s.q.remove.SQL(hi-lo), args, func(rs *sql.Rows) error {
			r, err := jobs.Removed(rs)
			removed = append(removed, r)
			return err
		})
	})
	return removed, err
}

// retryFenced puts Retry outcomes back to ready and counts those applied.
func (s *Store) retryFenced(ctx context.Context, tx *sql.Tx, outcomes []relay.Outcome, idx []int) (int, error) {
	n := 0
	err := store.Each(len(idx), maxRows, func(lo, hi int) error {
		args := make([]any, 0, (hi-lo)*s.q.retry.Params)
		for _, i := range idx[lo:hi] {
			o := outcomes[i]
			args = append(args, o.Job.ID, o.Job.Owner, o.Job.Attempts, nullMicros(o.NotBefore), store.NullString(o.Reason))
		}
		rs, err := tx.QueryContext(ctx, s.q.retry.SQL(hi-lo), args...)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			n++
		}
		return rs.Err()
	})
	return n, err
}

// Publish records switch events in T_TTO and the journal, in one transaction.
func (s *Store) Publish(ctx context.Context, events []relay.Frame, now time.Time) error {
	if len(events) == 0 {
		return nil
	}
	journal, outbox := store.EventRows(events, now)
	err := s.inTx(ctx, "publish", func(tx *sql.Tx) error {
		if err := insertTTO(ctx, tx, s.q.tto, outbox); err != nil {
			return err
		}
		return insertJournal(ctx, tx, s.q.journalRows, journal)
	})
	if errors.Is(err, relay.ErrDataRejected) {
		// An event the ERP's table refuses: again, one at a time.
		err = s.inTx(ctx, "publish", func(tx *sql.Tx) error { return s.writeOutputs(ctx, tx, journal) })
	}
	return err
}

// PublishOnce implements relay.Store: the key's relay_cursor row and the
// events in one transaction, nothing when the row is there. The events are
// written one at a time (spills are rare), so one the ERP's table refuses
// is dead-lettered alone, as Publish does.
func (s *Store) PublishOnce(ctx context.Context, key string, events []relay.Frame, now time.Time) (bool, error) {
	journal, _ := store.EventRows(events, now)
	published := false
	err := s.inTx(ctx, "publish once", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q.markCursor, key, len(events), micros(now))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		published = true
		return s.writeOutputs(ctx, tx, journal)
	})
	if err != nil {
		return false, err
	}
	return published, nil
}

// writeOutputs writes outputs one at a time, in order, each under a
// savepoint: one the database refuses for its data (a CHECK or trigger of
// the ERP's on T_TTO) is rolled back and recorded in relay_dead with the
// database's error instead, and journaled all the same.
func (s *Store) writeOutputs(ctx context.Context, tx *sql.Tx, rows []store.JournalRow) error {
	return s.writeEach(ctx, tx, rows, true)
}

// writeEach is writeOutputs; journal false leaves the journal rows out
// (written already).
func (s *Store) writeEach(ctx context.Context, tx *sql.Tx, rows []store.JournalRow, journal bool) error {
	journalRow := func(r store.JournalRow) error {
		if !journal {
			return nil
		}
		return insertJournal(ctx, tx, s.q.journalRows, []store.JournalRow{r})
	}
	for _, r := range rows {
		if _, err := tx.ExecContext(ctx, "SAVEPOINT relay_output"); err != nil {
			return err
		}
		err := journalRow(r)
		if err == nil && store.ToOutbox(r) {
			err = insertTTO(ctx, tx, s.q.tto, []string{r.Frame})
		}
		if err != nil {
			if !isDataError(err) {
				return err
			}
			if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO relay_output"); rerr != nil {
				return rerr
			}
			dead := store.RefusedOutput(r, s.names["tto"], driverMessage(err))
			s.log.Error("output refused by the database: dead-lettered", "table", s.names["tto"], "kind", r.Kind,
				"agent", r.Agent, "frame", r.Frame, "err", err)
			if short, ok := store.ShortReply(r); ok && store.ToOutbox(r) {
				switch err := insertTTO(ctx, tx, s.q.tto, []string{short}); {
				case err == nil:
					dead.Reason = store.ShortenedReason(dead.Reason, short)
				case !isDataError(err):
					return err
				default:
					if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO relay_output"); rerr != nil {
						return rerr
					}
				}
			}
			r.Error = dead.Reason
			if journal {
				err = insertJournal(ctx, tx, s.q.journalRows, []store.JournalRow{r})
			} else {
				// journaled already (an intake's ERR reply): it gets the error
				_, err = tx.ExecContext(ctx, s.q.journalError, r.Error, micros(r.At), r.Kind, r.Frame, store.NullString(r.Ref))
			}
			if err != nil {
				return err
			}
			if err := insertDead(ctx, tx, s.q.dead, []store.DeadRow{dead}); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, "RELEASE relay_output"); err != nil {
			return err
		}
	}
	return nil
}
