package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

var _ relay.Cursors = (*Store)(nil)

const (
	sqlCursor = `SELECT name, position, updated_at FROM {{cursor}} WHERE name = ?`

	// A position only moves forward; an equal one refreshes updated_at.
	sqlAdvanceCursor = `INSERT INTO {{cursor}} AS c (name, position, updated_at) VALUES (?, ?, ?)
ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at
 WHERE excluded.position >= c.position`
)

// Cursor implements relay.Cursors.
func (s *Store) Cursor(ctx context.Context, name string) (relay.Cursor, bool, error) {
	var c relay.Cursor
	var at int64
	err := s.db.QueryRowContext(ctx, store.Render(sqlCursor, s.names), name).Scan(&c.Name, &c.Position, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return relay.Cursor{}, false, nil
	}
	if err != nil {
		return relay.Cursor{}, false, fail(ctx, "read cursor", err)
	}
	c.UpdatedAt = fromMicros(at)
	return c, true, nil
}

// AdvanceCursors implements relay.Cursors in one transaction.
func (s *Store) AdvanceCursors(ctx context.Context, cursors []relay.Cursor, now time.Time) error {
	if len(cursors) == 0 {
		return nil
	}
	query := store.Render(sqlAdvanceCursor, s.names)
	return s.inTx(ctx, "advance cursors", func(tx *sql.Tx) error {
		for _, c := range cursors {
			if _, err := tx.ExecContext(ctx, query, c.Name, c.Position, micros(now)); err != nil {
				return err
			}
		}
		return nil
	})
}
