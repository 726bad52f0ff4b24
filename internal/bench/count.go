package bench

import (
	"context"
	"database/sql/driver"
	"sync/atomic"
)

// sqlCounter counts what the relay's store sends to the database, through a
// database/sql driver wrapper (store.Options.WrapConnector): every statement
// (queries, executions of prepared statements, PREPARE, BEGIN, COMMIT,
// ROLLBACK) and every transaction (a commit, or a statement run outside one).
// The PostgreSQL wake-up listener has its own connection and is not counted.
type sqlCounter struct {
	statements   atomic.Int64
	transactions atomic.Int64
}

type sqlCounts struct{ Statements, Transactions int64 }

func (c *sqlCounter) snapshot() sqlCounts {
	return sqlCounts{Statements: c.statements.Load(), Transactions: c.transactions.Load()}
}

func (c *sqlCounter) wrap(inner driver.Connector) driver.Connector {
	return &countingConnector{inner: inner, c: c}
}

type countingConnector struct {
	inner driver.Connector
	c     *sqlCounter
}

func (k *countingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := k.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &countingConn{inner: conn, c: k.c}, nil
}

func (k *countingConnector) Driver() driver.Driver { return k.inner.Driver() }

// countingConn forwards every optional interface of the driver's connection,
// answering driver.ErrSkip where it has none, so database/sql talks to the
// database exactly as it would without the wrapper.
type countingConn struct {
	inner driver.Conn
	c     *sqlCounter
	inTx  bool // database/sql uses a connection from one goroutine at a time
}

// statement counts one statement, and a transaction when it runs on its own.
func (k *countingConn) statement() {
	k.c.statements.Add(1)
	if !k.inTx {
		k.c.transactions.Add(1)
	}
}

func (k *countingConn) Prepare(query string) (driver.Stmt, error) {
	return k.PrepareContext(context.Background(), query)
}

func (k *countingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	k.c.statements.Add(1)
	var st driver.Stmt
	var err error
	if p, ok := k.inner.(driver.ConnPrepareContext); ok {
		st, err = p.PrepareContext(ctx, query)
	} else {
		st, err = k.inner.Prepare(query)
	}
	if err != nil {
		return nil, err
	}
	return &countingStmt{inner: st, conn: k}, nil
}

func (k *countingConn) Close() error { return k.inner.Close() }

func (k *countingConn) Begin() (driver.Tx, error) {
	return k.BeginTx(context.Background(), driver.TxOptions{})
}

func (k *countingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	var tx driver.Tx
	var err error
	if b, ok := k.inner.(driver.ConnBeginTx); ok {
		tx, err = b.BeginTx(ctx, opts)
	} else {
		tx, err = k.inner.Begin()
	}
	if err != nil {
		return nil, err
	}
	k.c.statements.Add(1)
	k.inTx = true
	return &countingTx{inner: tx, conn: k}, nil
}

func (k *countingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	e, ok := k.inner.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	r, err := e.ExecContext(ctx, query, args)
	if err != driver.ErrSkip {
		k.statement()
	}
	return r, err
}

func (k *countingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := k.inner.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	r, err := q.QueryContext(ctx, query, args)
	if err != driver.ErrSkip {
		k.statement()
	}
	return r, err
}

func (k *countingConn) Ping(ctx context.Context) error {
	if p, ok := k.inner.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (k *countingConn) ResetSession(ctx context.Context) error {
	if r, ok := k.inner.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (k *countingConn) IsValid() bool {
	if v, ok := k.inner.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (k *countingConn) CheckNamedValue(nv *driver.NamedValue) error {
	if c, ok := k.inner.(driver.NamedValueChecker); ok {
		return c.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

type countingTx struct {
	inner driver.Tx
	conn  *countingConn
}

func (t *countingTx) Commit() error {
	t.conn.c.statements.Add(1)
	t.conn.c.transactions.Add(1)
	t.conn.inTx = false
	return t.inner.Commit()
}

func (t *countingTx) Rollback() error {
	t.conn.c.statements.Add(1)
	t.conn.inTx = false
	return t.inner.Rollback()
}

type countingStmt struct {
	inner driver.Stmt
	conn  *countingConn
}

func (s *countingStmt) Close() error  { return s.inner.Close() }
func (s *countingStmt) NumInput() int { return s.inner.NumInput() }

func (s *countingStmt) Exec(args []driver.Value) (driver.Result, error) {
	s.conn.statement()
	return s.inner.Exec(args)
}

func (s *countingStmt) Query(args []driver.Value) (driver.Rows, error) {
	s.conn.statement()
	return s.inner.Query(args)
}

func (s *countingStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	if e, ok := s.inner.(driver.StmtExecContext); ok {
		s.conn.statement()
		return e.ExecContext(ctx, args)
	}
	return s.Exec(values(args))
}

func (s *countingStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	if q, ok := s.inner.(driver.StmtQueryContext); ok {
		s.conn.statement()
		return q.QueryContext(ctx, args)
	}
	return s.Query(values(args))
}

// CheckNamedValue keeps database/sql's order: the statement's checker, else
// the connection's.
func (s *countingStmt) CheckNamedValue(nv *driver.NamedValue) error {
	if c, ok := s.inner.(driver.NamedValueChecker); ok {
		return c.CheckNamedValue(nv)
	}
	return s.conn.CheckNamedValue(nv)
}

func values(named []driver.NamedValue) []driver.Value {
	out := make([]driver.Value, len(named))
	for i, nv := range named {
		out[i] = nv.Value
	}
	return out
}
