package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

// Note implements relay.Notebook in one transaction.
func (s *Store) Note(ctx context.Context, notes []relay.Note, now time.Time) error {
	if len(notes) == 0 {
		return nil
	}
	rows := store.NoteRows(notes, now)
	return s.inTx(ctx, "write notes", func(tx *sql.Tx) error {
		return insertJournal(ctx, tx, s.q.journalRows, rows)
	})
}
