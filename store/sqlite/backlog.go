package sqlite

import (
	"context"
	"database/sql"
	_ "embed"
	"errors"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/schema"
	"github.com/ctirelay/ctirelay/store"
)

var (
	//go:embed sql/backlog_tti.sql
	sqlBacklogTTI string
	//go:embed sql/backlog_tto.sql
	sqlBacklogTTO string
	//go:embed sql/backlog_first_output.sql
	sqlFirstOutput string
)

// Backlog implements relay.Operators (sql/backlog_*.sql). Rendered per
// call: the dashboard asks once per interval.
func (s *Store) Backlog(ctx context.Context, unread int64) (relay.Backlog, error) {
	var b relay.Backlog
	if err := s.db.QueryRowContext(ctx, schema.Render(sqlBacklogTTI, s.names)).Scan(&b.TTIFirst, &b.TTILast); err != nil {
		return b, fail(ctx, "read backlog", err)
	}
	if unread <= 0 {
		return b, nil
	}
	n := min(unread, relay.BacklogScan)
	b.TTOAtLeast = unread > relay.BacklogScan
	err := s.db.QueryRowContext(ctx, schema.Render(sqlBacklogTTO, s.names), n-1).Scan(store.UnixMicros(&b.TTOOldest))
	if errors.Is(err, sql.ErrNoRows) {
		// Fewer outputs journaled than rows unread: the rest are older.
		b.TTOAtLeast = true
		err = s.db.QueryRowContext(ctx, schema.Render(sqlFirstOutput, s.names)).Scan(store.UnixMicros(&b.TTOOldest))
		if errors.Is(err, sql.ErrNoRows) {
			return b, nil
		}
	}
	if err != nil {
		return b, fail(ctx, "read backlog", err)
	}
	return b, nil
}
