package sqlite

import (
	"context"
	"database/sql"
	"slices"
	"time"

	"github.com/ctirelay/ctirelay/store"
)

// inTx runs fn in one transaction (BEGIN IMMEDIATE, from the DSN): all of
// it is committed or none.
func (s *Store) inTx(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	defer s.writes.begin()()
	if err := store.InTx(ctx, s.db, nil, fn); err != nil {
		return fail(ctx, op, err)
	}
	return nil
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// nullMicros stores the zero time as NULL.
func nullMicros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// insertInbox inserts admitted commands in order and returns their ids in
// the same order (AUTOINCREMENT ids grow with each row inserted).
func insertInbox(ctx context.Context, tx *sql.Tx, b *store.Batch, rows []store.InboxRow, now time.Time) ([]int64, error) {
	ids := make([]int64, 0, len(rows))
	at := micros(now)
	err := store.Each(len(rows), maxRows, func(lo, hi int) error {
		args := make([]any, 0, (hi-lo)*b.Params)
		for _, r := range rows[lo:hi] {
			args = append(args, r.Source, r.Ref, r.Agent, string(r.Verb), r.Frame, at)
		}
		var err error
		ids, err = store.QueryIDs(ctx, tx, ids, b.SQL(hi-lo), args...)
		return err
	})
	// RETURNING order is not defined, but ids grow in insertion order.
	slices.Sort(ids)
	return ids, err
}

func insertDead(ctx context.Context, tx *sql.Tx, b *store.Batch, rows []store.DeadRow) error {
	return store.Each(len(rows), maxRows, func(lo, hi int) error {
		args := make([]any, 0, (hi-lo)*b.Params)
		for _, r := range rows[lo:hi] {
			args = append(args, store.NullID(r.InboxID), r.Source, r.Ref, r.Agent, store.NullVerb(r.Verb), r.Frame,
				store.NullString(r.Code), r.Reason, r.Attempts, micros(r.EnqueuedAt), micros(r.DiedAt))
		}
		_, err := tx.ExecContext(ctx, b.SQL(hi-lo), args...)
		return err
	})
}

func insertJournal(ctx context.Context, tx *sql.Tx, b *store.Batch, rows []store.JournalRow) error {
	return store.Each(len(rows), maxRows, func(lo, hi int) error {
		args := make([]any, 0, (hi-lo)*b.Params)
		for _, r := range rows[lo:hi] {
			var latency any
			if r.HasLatency {
				latency = r.Latency.Microseconds()
			}
			args = append(args, micros(r.At), r.Direction, r.Kind, r.Agent, r.Frame, r.Origin,
				store.NullString(r.Ref), store.NullID(r.InboxID), store.NullString(r.Outcome), latency, store.NullString(r.Error))
		}
		_, err := tx.ExecContext(ctx, b.SQL(hi-lo), args...)
		return err
	})
}

func insertTTO(ctx context.Context, tx *sql.Tx, b *store.Batch, frames []string) error {
	return store.Each(len(frames), maxRows, func(lo, hi int) error {
		args := make([]any, 0, hi-lo)
		for _, f := range frames[lo:hi] {
			args = append(args, f)
		}
		_, err := tx.ExecContext(ctx, b.SQL(hi-lo), args...)
		return err
	})
}
