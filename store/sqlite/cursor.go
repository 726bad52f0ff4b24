package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// Cursor implements relay.JournalReader.
func (s *Store) Cursor(ctx context.Context, name string) (relay.Cursor, bool, error) {
	var c relay.Cursor
	var at int64
	err := s.db.QueryRowContext(ctx, s.q.cursor, name).Scan(&c.Name, &c.Position, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return relay.Cursor{}, false, nil
	}
	if err != nil {
		return relay.Cursor{}, false, fail(ctx, "read cursor", err)
	}
	c.UpdatedAt = fromMicros(at)
	return c, true, nil
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
