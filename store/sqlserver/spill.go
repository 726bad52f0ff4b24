package sqlserver

import (
	"context"
	"database/sql"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

// PublishOnce implements relay.Store: the key's relay_cursor row
// (sql/mark_cursor.sql) and the events in one transaction, nothing when the
// row is there. Outputs the ERP's table refuses are dead-lettered alone, as
// Publish does.
func (s *Store) PublishOnce(ctx context.Context, key string, events []relay.Frame, now time.Time) (bool, error) {
	if err := s.check(); err != nil {
		return false, err
	}
	journal, _ := store.EventRows(events, now)
	var published bool
	err := s.withRefusals(func(refused refusals) error {
		return s.inTx(ctx, "publish once", func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, s.q.sql(qMarkCursor), key, int64(len(events)), ts(now))
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			if published = n > 0; !published {
				return nil
			}
			return s.writeOutput(ctx, tx, journal, refused)
		})
	})
	if err != nil {
		return false, err
	}
	return published, nil
}
