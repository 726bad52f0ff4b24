package postgres

import (
	"context"
	"database/sql/driver"
	"log/slog"
	"sync"
)

// sessionConnector prepares every new connection of the pool for the
// intake's fast path: it creates the session's temporary function
// (sql/intake_function.sql). A connection on which that fails (no TEMP
// privilege, say) is kept all the same: the fast path finds the function
// missing there and the intake takes its locked path (intake.go).
type sessionConnector struct {
	driver.Connector
	setup string
	log   *slog.Logger
	once  sync.Once // the failure is logged once
}

func (c *sessionConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	ex, ok := conn.(driver.ExecerContext)
	if !ok {
		return conn, nil
	}
	if _, err := ex.ExecContext(ctx, c.setup, nil); err != nil {
		if unavailable(err) {
			_ = conn.Close()
			return nil, err
		}
		c.once.Do(func() {
			c.log.Warn("intake fast path off: cannot create its session function", "err", err)
		})
	}
	return conn, nil
}
