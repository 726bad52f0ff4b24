package postgres

import (
	"context"
	"time"

	"github.com/lib/pq"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

const (
	qJournalSince   query = "journal_since"
	qCursor         query = "cursor"
	qAdvanceCursors query = "advance_cursors"
)

// JournalSince implements relay.JournalReader.
func (s *Store) JournalSince(ctx context.Context, after int64, kinds []string, limit int) ([]relay.JournalEntry, error) {
	if limit <= 0 {
		limit = 1000
	}
	if len(kinds) == 0 {
		return s.Journal(ctx, after, limit)
	}
	st, err := s.stmt(ctx, qJournalSince)
	if err != nil {
		return nil, fail("read journal", err)
	}
	rs, err := st.QueryContext(ctx, after, pq.Array(kinds), limit)
	if err != nil {
		return nil, fail("read journal", err)
	}
	out, err := store.ScanJournal(rs, store.Timestamp)
	return out, fail("read journal", err)
}

// Cursor implements relay.JournalReader.
func (s *Store) Cursor(ctx context.Context, name string) (relay.Cursor, bool, error) {
	st, err := s.stmt(ctx, qCursor)
	if err != nil {
		return relay.Cursor{}, false, fail("read cursor", err)
	}
	c, ok, err := store.ScanCursor(st.QueryRowContext(ctx, name), store.Timestamp)
	return c, ok, fail("read cursor", err)
}

// AdvanceCursors implements relay.JournalReader in one statement, each name
// once (store.LatestCursors).
func (s *Store) AdvanceCursors(ctx context.Context, cursors []relay.Cursor, now time.Time) error {
	if len(cursors) == 0 {
		return nil
	}
	latest := store.LatestCursors(cursors)
	names, positions := make([]string, len(latest)), make([]int64, len(latest))
	for i, c := range latest {
		names[i], positions[i] = c.Name, c.Position
	}
	st, err := s.stmt(ctx, qAdvanceCursors)
	if err != nil {
		return fail("advance cursors", err)
	}
	_, err = st.ExecContext(ctx, pq.Array(names), pq.Array(positions), micro(now))
	return fail("advance cursors", err)
}
