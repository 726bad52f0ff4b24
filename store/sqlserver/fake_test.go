package sqlserver

import (
	"context"
	"database/sql/driver"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/jmoiron/sqlx"
	mssql "github.com/microsoft/go-mssqldb"

	"github.com/ctirelay/ctirelay/store"
)

// No SQL Server runs here, so the unit tests drive the store over a fake
// database/sql driver that records every request the store sends (text and
// arguments exactly as the real driver would receive them: its
// NamedValueChecker keeps mssql.VarChar, civil.DateTime, int32 … as they
// are) and answers from a script.

// call is one request the store sent.
type call struct {
	name  string // the statement's file (sql/<name>.sql), or the procedure
	query string
	args  []driver.NamedValue
}

// reply is what the fake answers to one request.
type reply struct {
	cols   []string
	rows   [][]driver.Value
	err    error
	status mssql.ReturnStatus // for sp_getapplock and sp_releaseapplock
}

// fakeDB records calls and answers them with respond (nil: empty results,
// applocks granted).
type fakeDB struct {
	mu        sync.Mutex
	calls     []call
	commits   int
	rollbacks int
	namer     func(query string) string
	respond   func(c call) reply
}

func (f *fakeDB) record(query string, args []driver.NamedValue) reply {
	f.mu.Lock()
	c := call{query: query, args: args}
	if f.namer != nil {
		c.name = f.namer(query)
	}
	f.calls = append(f.calls, c)
	respond := f.respond
	f.mu.Unlock()
	if respond == nil {
		return reply{}
	}
	return respond(c)
}

func (f *fakeDB) Calls() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

func (f *fakeDB) Connect(context.Context) (driver.Conn, error) { return &fakeConn{db: f}, nil }
func (f *fakeDB) Driver() driver.Driver                        { return fakeDriver{} }

type fakeDriver struct{}

func (fakeDriver) Open(string) (driver.Conn, error) {
	return nil, fmt.Errorf("fake: use the connector")
}

type fakeConn struct{ db *fakeDB }

func (c *fakeConn) Prepare(string) (driver.Stmt, error) {
	return nil, fmt.Errorf("fake: the store never prepares")
}
func (c *fakeConn) Close() error              { return nil }
func (c *fakeConn) Begin() (driver.Tx, error) { return &fakeTx{c.db}, nil }
func (c *fakeConn) BeginTx(context.Context, driver.TxOptions) (driver.Tx, error) {
	return &fakeTx{c.db}, nil
}

// CheckNamedValue accepts every argument as it is, as go-mssqldb does for
// its own types (and sets the return status of a procedure).
func (c *fakeConn) CheckNamedValue(*driver.NamedValue) error { return nil }

func (c *fakeConn) ExecContext(_ context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	r := c.db.record(query, args)
	setStatus(args, r.status)
	if r.err != nil {
		return nil, r.err
	}
	return driver.RowsAffected(len(r.rows)), nil
}

func (c *fakeConn) QueryContext(_ context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	r := c.db.record(query, args)
	if r.err != nil {
		return nil, r.err
	}
	return &fakeRows{cols: r.cols, rows: r.rows}, nil
}

func setStatus(args []driver.NamedValue, st mssql.ReturnStatus) {
	for _, a := range args {
		if p, ok := a.Value.(*mssql.ReturnStatus); ok {
			*p = st
		}
	}
}

type fakeTx struct{ db *fakeDB }

func (t *fakeTx) Commit() error {
	t.db.mu.Lock()
	t.db.commits++
	t.db.mu.Unlock()
	return nil
}

func (t *fakeTx) Rollback() error {
	t.db.mu.Lock()
	t.db.rollbacks++
	t.db.mu.Unlock()
	return nil
}

type fakeRows struct {
	cols []string
	rows [][]driver.Value
}

func (r *fakeRows) Columns() []string {
	if r.cols == nil && len(r.rows) > 0 {
		cols := make([]string, len(r.rows[0]))
		for i := range cols {
			cols[i] = fmt.Sprintf("c%d", i+1)
		}
		return cols
	}
	return r.cols
}
func (r *fakeRows) Close() error { return nil }
func (r *fakeRows) Next(dest []driver.Value) error {
	if len(r.rows) == 0 {
		return io.EOF
	}
	copy(dest, r.rows[0])
	r.rows = r.rows[1:]
	return nil
}

// fakeStore is a Store over a fakeDB, with the statements named by file.
func fakeStore(t *testing.T, opts store.Options, respond func(c call) reply) (*Store, *fakeDB) {
	t.Helper()
	opts, err := opts.WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	opts.Logger = slog.New(slog.DiscardHandler)
	q, err := loadQueries(opts.Names())
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeDB{respond: respond, namer: namer(q)}
	pool, err := store.OpenPool(context.Background(), "sqlserver", f, opts, Migrations, fail)
	if err != nil {
		t.Fatal(err)
	}
	s := newStore(pool, q, opts)
	t.Cleanup(func() { _ = s.Close() })
	return s, f
}

// namer tells which file a request's text came from.
func namer(q *queries) func(string) string {
	return func(text string) string {
		if !strings.ContainsAny(text, " \n") {
			return text // a procedure called by name
		}
		for name, t := range q.text {
			if t == text {
				return string(name)
			}
		}
		for name, b := range q.batches {
			if strings.HasPrefix(text, sqlx.Rebind(sqlx.AT, b.b.Head)) && strings.HasSuffix(text, b.b.Tail) {
				return string(name)
			}
		}
		return "?"
	}
}
