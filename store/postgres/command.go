package postgres

import (
	"context"
	"database/sql"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

const (
	qCommandInbox   query = "command_inbox"
	qCommandDead    query = "command_dead"
	qCommandJournal query = "command_journal"
)

// Command implements relay.Operators (store.Command).
func (s *Store) Command(ctx context.Context, id int64) (relay.CommandRecord, bool, error) {
	rec, found, err := store.Command(id, store.Timestamp, s.row(ctx, qCommandInbox, id),
		func() store.RowScanner { return s.row(ctx, qCommandDead, id) },
		func() (*sql.Rows, error) { return s.query(ctx, qCommandJournal, id) })
	return rec, found, fail("read command", err)
}
