package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/ctirelay/ctirelay/relay"
)

// BacklogStatements are a dialect's statements of Backlog (its
// sql/backlog_*.sql), rendered: T_TTI's first and last id; the time of the
// output journaled n from the newest (its one argument, counting from 0);
// the time of the oldest output journaled.
type BacklogStatements struct{ TTI, TTO, FirstOutput string }

// Backlog implements relay.Operators.Backlog on db with a dialect's
// statements and time columns; the caller wraps the error.
func Backlog(ctx context.Context, db RowQuerier, q BacklogStatements, at TimeColumn, unread int64) (relay.Backlog, error) {
	var b relay.Backlog
	if err := db.QueryRowContext(ctx, q.TTI).Scan(&b.TTIFirst, &b.TTILast); err != nil {
		return b, err
	}
	if unread <= 0 {
		return b, nil
	}
	n := min(unread, relay.BacklogScan)
	b.TTOAtLeast = unread > relay.BacklogScan
	err := db.QueryRowContext(ctx, q.TTO, n-1).Scan(at(&b.TTOOldest))
	if errors.Is(err, sql.ErrNoRows) {
		// Fewer outputs journaled than rows unread: the rest are older.
		b.TTOAtLeast = true
		err = db.QueryRowContext(ctx, q.FirstOutput).Scan(at(&b.TTOOldest))
		if errors.Is(err, sql.ErrNoRows) {
			return b, nil
		}
	}
	return b, err
}
