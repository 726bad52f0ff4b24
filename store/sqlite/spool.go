package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// Bury implements relay.Spool in one transaction.
func (s *Store) Bury(ctx context.Context, letters []relay.DeadLetter, now time.Time) error {
	if len(letters) == 0 {
		return nil
	}
	return s.inTx(ctx, "bury dead letters", func(tx *sql.Tx) error {
		for _, d := range letters {
			enq := d.EnqueuedAt
			if enq.IsZero() {
				enq = now
			}
			if _, err := tx.ExecContext(ctx, s.q.bury, d.Source, d.Ref, d.Agent, string(d.Verb), d.Frame, d.Code, d.Reason, micros(enq), micros(now)); err != nil {
				return err
			}
		}
		return nil
	})
}

// CursorsWithPrefix implements relay.Spool.
func (s *Store) CursorsWithPrefix(ctx context.Context, prefix string) ([]relay.Cursor, error) {
	rs, err := s.db.QueryContext(ctx, s.q.cursorsWithPrefix, len(prefix), prefix)
	if err != nil {
		return nil, fail(ctx, "read cursors", err)
	}
	defer rs.Close()
	var out []relay.Cursor
	for rs.Next() {
		var c relay.Cursor
		var at int64
		if err := rs.Scan(&c.Name, &c.Position, &at); err != nil {
			return nil, fail(ctx, "read cursors", err)
		}
		c.UpdatedAt = fromMicros(at)
		out = append(out, c)
	}
	if err := rs.Err(); err != nil {
		return nil, fail(ctx, "read cursors", err)
	}
	return out, nil
}
