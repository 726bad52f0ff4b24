package sqlserver

import (
	"context"
	"database/sql"
	"slices"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

// JournalSince implements relay.JournalReader.
func (s *Store) JournalSince(ctx context.Context, after int64, kinds []string, limit int) ([]relay.JournalEntry, error) {
	if limit <= 0 {
		limit = 1000
	}
	if len(kinds) == 0 {
		return s.Journal(ctx, after, limit)
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	kinds = slices.Compact(slices.Sorted(slices.Values(kinds)))
	b := s.q.batch(bJournalSince)
	if len(kinds) > b.maxRows {
		kinds = kinds[:b.maxRows] // there are four kinds
	}
	args := []any{int64(limit), after}
	for _, k := range kinds {
		args = append(args, vc(k))
	}
	rs, err := s.db.QueryContext(ctx, b.SQL(len(kinds)), args...)
	if err != nil {
		return nil, fail("read journal", err)
	}
	out, err := store.ScanJournal(rs, store.Timestamp)
	return out, fail("read journal", err)
}

// Cursor implements relay.JournalReader.
func (s *Store) Cursor(ctx context.Context, name string) (relay.Cursor, bool, error) {
	if err := s.check(); err != nil {
		return relay.Cursor{}, false, err
	}
	c, ok, err := store.ScanCursor(s.db.QueryRowContext(ctx, s.q.sql(qCursor), name), store.Timestamp)
	return c, ok, fail("read cursor", err)
}

// AdvanceCursors implements relay.JournalReader in one transaction, each name
// once (store.LatestCursors: a MERGE may not change a row twice).
func (s *Store) AdvanceCursors(ctx context.Context, cursors []relay.Cursor, now time.Time) error {
	if len(cursors) == 0 {
		return nil
	}
	latest := store.LatestCursors(cursors)
	b := s.q.batch(bAdvanceCursors)
	return s.inTx(ctx, "advance cursors", func(tx *sql.Tx) error {
		return store.Each(len(latest), b.maxRows, func(lo, hi int) error {
			args := make([]any, 0, b.b.Fixed+(hi-lo)*b.b.Params)
			args = append(args, ts(now))
			for _, c := range latest[lo:hi] {
				args = append(args, c.Name, c.Position)
			}
			_, err := tx.ExecContext(ctx, b.SQL(hi-lo), args...)
			return err
		})
	})
}
