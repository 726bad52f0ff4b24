package sqlserver

import (
	"context"
	"database/sql"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

const qCursorsWithPrefix query = "cursors_with_prefix"

// Bury implements relay.Spool in one transaction, with the intake's
// dead-letter statement.
func (s *Store) Bury(ctx context.Context, letters []relay.DeadLetter, now time.Time) error {
	if len(letters) == 0 {
		return nil
	}
	if err := s.check(); err != nil {
		return err
	}
	rows := make([]store.DeadRow, len(letters))
	for i, d := range letters {
		enq := d.EnqueuedAt
		if enq.IsZero() {
			enq = now
		}
		rows[i] = store.DeadRow{Source: d.Source, Ref: d.Ref, Agent: d.Agent, Verb: d.Verb, Frame: d.Frame,
			Code: d.Code, Reason: d.Reason, EnqueuedAt: enq, DiedAt: now}
	}
	return s.inTx(ctx, "bury dead letters", func(tx *sql.Tx) error { return s.insertDead(ctx, tx, rows) })
}

// CursorsWithPrefix implements relay.Spool.
func (s *Store) CursorsWithPrefix(ctx context.Context, prefix string) ([]relay.Cursor, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	rs, err := s.db.QueryContext(ctx, s.q.sql(qCursorsWithPrefix), prefix)
	if err != nil {
		return nil, fail("read cursors", err)
	}
	out, err := store.ScanCursors(rs, store.Timestamp)
	return out, fail("read cursors", err)
}
