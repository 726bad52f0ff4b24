package sqlite

import (
	"context"
	_ "embed"

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
	q := store.BacklogStatements{TTI: schema.Render(sqlBacklogTTI, s.names), TTO: schema.Render(sqlBacklogTTO, s.names),
		FirstOutput: schema.Render(sqlFirstOutput, s.names)}
	b, err := store.Backlog(ctx, s.db, q, store.UnixMicros, unread)
	if err != nil {
		return b, fail(ctx, "read backlog", err)
	}
	return b, nil
}
