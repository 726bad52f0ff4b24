package sqlserver

import (
	"context"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

// Statements of Backlog (sql/backlog_*.sql).
const (
	qBacklogTTI  query = "backlog_tti"
	qBacklogTTO  query = "backlog_tto"
	qFirstOutput query = "backlog_first_output"
)

// Backlog implements relay.Operators.
func (s *Store) Backlog(ctx context.Context, unread int64) (relay.Backlog, error) {
	if err := s.check(); err != nil {
		return relay.Backlog{}, err
	}
	q := store.BacklogStatements{TTI: s.q.sql(qBacklogTTI), TTO: s.q.sql(qBacklogTTO), FirstOutput: s.q.sql(qFirstOutput)}
	b, err := store.Backlog(ctx, s.db, q, store.Timestamp, unread)
	return b, fail("read backlog", err)
}
