package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

// Cursor implements relay.JournalReader.
func (s *Store) Cursor(ctx context.Context, name string) (relay.Cursor, bool, error) {
	c, ok, err := store.ScanCursor(s.db.QueryRowContext(ctx, s.q.cursor, name), store.UnixMicros)
	if err != nil {
		return relay.Cursor{}, false, fail(ctx, "read cursor", err)
	}
	return c, ok, nil
}

// AdvanceCursors implements relay.JournalReader in one transaction.
func (s *Store) AdvanceCursors(ctx context.Context, cursors []relay.Cursor, now time.Time) error {
	if len(cursors) == 0 {
		return nil
	}
	query := s.q.advanceCursor
	return s.inTx(ctx, "advance cursors", func(tx *sql.Tx) error {
		for _, c := range cursors {
			if _, err := tx.ExecContext(ctx, query, c.Name, c.Position, micros(now)); err != nil {
				return err
			}
		}
		return nil
	})
}
