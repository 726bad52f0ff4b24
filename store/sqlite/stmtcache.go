package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
)

// cachingConnector gives each connection a cache of prepared statements by
// SQL text. The store runs the same statements over and over, and without
// the cache SQLite parses and plans each one anew on every call: about a
// seventh of the relay's CPU at full speed. Multi-row statements come in a
// few sizes only (see each), so the cache stays small.
type cachingConnector struct{ driver.Connector }

func (c cachingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &cachingConn{Conn: conn, stmts: map[string]*cachedStmt{}}, nil
}

// maxCachedStmts bounds a connection's cache; past it, statements are
// prepared and dropped per call as without a cache.
const maxCachedStmts = 256

// cachingConn runs ExecContext and QueryContext on cached statements. It
// forwards what else database/sql uses of the driver's connection.
// database/sql uses a connection from one goroutine at a time.
type cachingConn struct {
	driver.Conn
	stmts map[string]*cachedStmt
}

type cachedStmt struct {
	st   driver.Stmt
	busy bool // rows of it are open
}

// stmt returns the cached statement for query, or a fresh one (release
// closes it) when the cached one is busy or the cache is full.
func (c *cachingConn) stmt(ctx context.Context, query string) (*cachedStmt, func(), error) {
	if cs, ok := c.stmts[query]; ok && !cs.busy {
		return cs, func() {}, nil
	}
	st, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, nil, err
	}
	cs := &cachedStmt{st: st}
	if _, taken := c.stmts[query]; taken || len(c.stmts) >= maxCachedStmts {
		return cs, func() { _ = st.Close() }, nil
	}
	c.stmts[query] = cs
	return cs, func() {}, nil
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	cs, release, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	defer release()
	return cs.st.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	cs, release, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	rows, err := cs.st.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		release()
		return nil, err
	}
	cs.busy = true
	return &cachedRows{Rows: rows, done: func() { cs.busy = false; release() }}, nil
}

// cachedRows hands the statement back when the rows are closed.
type cachedRows struct {
	driver.Rows
	done func()
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	if r.done != nil {
		r.done()
		r.done = nil
	}
	return err
}

// Close finalizes the cached statements, then closes the connection.
func (c *cachingConn) Close() error {
	var errs []error
	for q, cs := range c.stmts {
		errs = append(errs, cs.st.Close())
		delete(c.stmts, q)
	}
	return errors.Join(append(errs, c.Conn.Close())...)
}

func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
}

func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c *cachingConn) Ping(ctx context.Context) error { return c.Conn.(driver.Pinger).Ping(ctx) }

func (c *cachingConn) ResetSession(ctx context.Context) error {
	return c.Conn.(driver.SessionResetter).ResetSession(ctx)
}

func (c *cachingConn) IsValid() bool { return c.Conn.(driver.Validator).IsValid() }
