package sqlserver

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
	if err := s.check(); err != nil {
		return relay.CommandRecord{}, false, err
	}
	rec, found, err := store.Command(id, store.Timestamp, s.db.QueryRowContext(ctx, s.q.sql(qCommandInbox), id),
		func() store.RowScanner { return s.db.QueryRowContext(ctx, s.q.sql(qCommandDead), id) },
		func() (*sql.Rows, error) { return s.query(ctx, qCommandJournal, id) })
	return rec, found, fail("read command", err)
}
