package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
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
	out, err := store.ScanCursors(rs, store.UnixMicros)
	if err != nil {
		return nil, fail(ctx, "read cursors", err)
	}
	return out, nil
}
