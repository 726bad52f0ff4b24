package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

// Settle applies outcomes in one transaction. Each statement covers the whole
// batch; the fence (still running, same owner, same attempt) is part of the
// DELETE and UPDATE, so a stale outcome changes nothing and is not counted.
func (s *Store) Settle(ctx context.Context, outcomes []relay.Outcome, now time.Time) (int, error) {
	if len(outcomes) == 0 {
		return 0, nil
	}
	remove, retry := store.SplitOutcomes(outcomes)
	var applied int
	err := s.inTx(ctx, "settle", func(tx *sql.Tx) error {
		removed, err := s.removeFenced(ctx, tx, outcomes, remove)
		if err != nil {
			return err
		}
		w := store.PlanSettle(outcomes, remove, removed, now)
		if err := insertJournal(ctx, tx, s.q.journalRows, w.Journal); err != nil {
			return err
		}
		if err := insertTTO(ctx, tx, s.q.tto, w.Outbox); err != nil {
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
		return nil
	})
	if err != nil {
		return 0, err
	}
	return applied, nil
}

// removeFenced deletes the inbox rows of Done and Dead outcomes still held
// as the outcome says, and returns them as they were.
func (s *Store) removeFenced(ctx context.Context, tx *sql.Tx, outcomes []relay.Outcome, idx []int) ([]store.Removed, error) {
	var removed []store.Removed
	err := each(len(idx), func(lo, hi int) error {
		args := make([]any, 0, (hi-lo)*s.q.remove.params)
		for _, i := range idx[lo:hi] {
			j := outcomes[i].Job
			args = append(args, j.ID, j.Owner, j.Attempts)
		}
		rs, err := tx.QueryContext(ctx, s.q.remove.sql(hi-lo), args...)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var r store.Removed
			var verb string
			var enq int64
			if err := rs.Scan(&r.ID, &r.Owner, &r.Attempts, &r.Source, &r.Ref, &r.Agent, &verb, &r.Frame, &enq); err != nil {
				return err
			}
			r.Verb, r.EnqueuedAt = relay.Verb(verb), fromMicros(enq)
			removed = append(removed, r)
		}
		return rs.Err()
	})
	return removed, err
}

// retryFenced puts Retry outcomes back to ready and counts those applied.
func (s *Store) retryFenced(ctx context.Context, tx *sql.Tx, outcomes []relay.Outcome, idx []int) (int, error) {
	n := 0
	err := each(len(idx), func(lo, hi int) error {
		args := make([]any, 0, (hi-lo)*s.q.retry.params)
		for _, i := range idx[lo:hi] {
			o := outcomes[i]
			args = append(args, o.Job.ID, o.Job.Owner, o.Job.Attempts, nullMicros(o.NotBefore), store.NullString(o.Reason))
		}
		rs, err := tx.QueryContext(ctx, s.q.retry.sql(hi-lo), args...)
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
	return s.inTx(ctx, "publish", func(tx *sql.Tx) error {
		if err := insertTTO(ctx, tx, s.q.tto, outbox); err != nil {
			return err
		}
		return insertJournal(ctx, tx, s.q.journalRows, journal)
	})
}
