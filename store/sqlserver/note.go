package sqlserver

import (
	"context"
	"database/sql"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

// Note implements relay.Notebook in one transaction, under the output lock
// so the notes' journal ids become visible in order with every other entry.
func (s *Store) Note(ctx context.Context, notes []relay.Note, now time.Time) error {
	if len(notes) == 0 {
		return nil
	}
	rows := store.NoteRows(notes, now)
	return s.inTx(ctx, "write notes", func(tx *sql.Tx) error {
		if err := getAppLock(ctx, tx, s.outputLock, "Transaction", lockWait); err != nil {
			return err
		}
		return s.insertJournal(ctx, tx, rows)
	})
}
