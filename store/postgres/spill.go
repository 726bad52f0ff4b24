package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

const qMarkCursor query = "mark_cursor"

// errPublished rolls back a PublishOnce whose key is recorded already.
var errPublished = errors.New("published already")

// PublishOnce implements relay.Store: the key's relay_cursor row
// (sql/mark_cursor.sql) and the events in one transaction, nothing when the
// row is there. The events are written one at a time (spills are rare), so
// one the ERP's table refuses is dead-lettered alone, as Publish does.
func (s *Store) PublishOnce(ctx context.Context, key string, events []relay.Frame, now time.Time) (bool, error) {
	mark, err := s.stmt(ctx, qMarkCursor)
	if err != nil {
		return false, fail("publish once", err)
	}
	journal, _ := store.EventRows(events, now)
	err = s.isolated(ctx, "publish once", func(tx *sqlx.Tx, _ *sqlx.Stmt, output outputStmts) error {
		res, err := tx.StmtxContext(ctx, mark).ExecContext(ctx, key, len(events), micro(now))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return errPublished
		}
		for _, r := range journal {
			if err := s.writeOutput(ctx, tx, output, r, true); err != nil {
				return err
			}
		}
		return nil
	})
	switch {
	case errors.Is(err, errPublished):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}
