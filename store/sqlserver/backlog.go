package sqlserver

import (
	"context"
	"database/sql"
	"errors"

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
	var b relay.Backlog
	if err := s.check(); err != nil {
		return b, err
	}
	if err := s.db.QueryRowContext(ctx, s.q.sql(qBacklogTTI)).Scan(&b.TTIFirst, &b.TTILast); err != nil {
		return b, fail("read backlog", err)
	}
	if unread <= 0 {
		return b, nil
	}
	n := min(unread, relay.BacklogScan)
	b.TTOAtLeast = unread > relay.BacklogScan
	err := s.db.QueryRowContext(ctx, s.q.sql(qBacklogTTO), n-1).Scan(store.Timestamp(&b.TTOOldest))
	if errors.Is(err, sql.ErrNoRows) {
		// Fewer outputs journaled than rows unread: the rest are older.
		b.TTOAtLeast = true
		err = s.db.QueryRowContext(ctx, s.q.sql(qFirstOutput)).Scan(store.Timestamp(&b.TTOOldest))
		if errors.Is(err, sql.ErrNoRows) {
			return b, nil
		}
	}
	if err != nil {
		return b, fail("read backlog", err)
	}
	return b, nil
}
