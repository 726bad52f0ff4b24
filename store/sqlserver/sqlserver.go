// Package sqlserver is the Microsoft SQL Server dialect of the relay store
// (github.com/microsoft/go-mssqldb, driver "sqlserver", through sqlx).
// Several relays may share one database: claims lock the heads of the
// agents' queues with ROWLOCK, UPDLOCK, READPAST, and every writer of new
// inbox rows, and every writer of T_TTO and the journal, holds an applock
// (sp_getapplock, owned by the transaction) to commit, as the PostgreSQL
// dialect holds its advisory locks. There is no LISTEN/NOTIFY: Wakeups are
// nil and the engine polls; an idle poll is one seek on an empty index.
//
// Every Store call is one transaction. A batch of rows is one statement per
// run of rows (store.Batch), sized under SQL Server's 2,100 parameters and
// under the ~5,000 locks at which it escalates to a table lock. Parameters
// are typed to their columns (values.go). Errors name the operation and
// match the store's own errors (errors.go); a transaction SQL Server chose as
// a deadlock victim, or whose lock wait timed out, is run again a few times
// before its error is returned.
//
// Nothing here has run against a live SQL Server on the machines it was
// written on: see docs/operations.md, SQL Server.
package sqlserver

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"
	mssql "github.com/microsoft/go-mssqldb"
	"github.com/microsoft/go-mssqldb/msdsn"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/schema"
	"github.com/ctirelay/ctirelay/store"
)

var _ relay.Store = (*Store)(nil)

// Store is a relay.Store on SQL Server.
type Store struct {
	db    *sqlx.DB
	q     *queries
	opts  store.Options
	names map[string]string // store.Options.Names(): for the migrator
	log   *slog.Logger

	// applock resources, per installation (the prefix is in the names)
	intakeLock, outputLock string

	pool *store.Pool // db, closing, named locks (TryLock)
}

const (
	// lockWait bounds the wait for the intake and output applocks; a wait
	// that runs out is transient (retried).
	lockWait = 20 * time.Second
	// txAttempts is how many times a transaction SQL Server ended as a
	// deadlock victim or on a lock timeout is run in all.
	txAttempts = 3
)

// Open connects to the database named by dsn (sqlserver://user:pass@host
// ?database=erp, or any DSN go-mssqldb takes). It does not migrate: call
// Migrate (or check Pending) before using the store.
func Open(ctx context.Context, dsn string, opts store.Options) (*Store, error) {
	opts, err := opts.WithDefaults()
	if err != nil {
		return nil, fmt.Errorf("sqlserver store: %w", err)
	}
	cfg, err := msdsn.Parse(dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlserver store: parse dsn %s: %w", store.Redact(dsn), err)
	}
	pool, err := store.OpenPool(ctx, "sqlserver", mssql.NewConnectorConfig(cfg), opts, Migrations, fail)
	if err != nil {
		return nil, fail("sqlserver store: connect to "+server(cfg), err)
	}
	q, err := loadQueries(opts.Names())
	if err != nil {
		_ = pool.Close()
		return nil, err
	}
	return newStore(pool, q, opts), nil
}

// newStore is a store on an open pool with its statements loaded.
func newStore(pool *store.Pool, q *queries, opts store.Options) *Store {
	names := opts.Names()
	return &Store{db: pool.DB, q: q, opts: opts, names: names, log: opts.Logger, pool: pool,
		intakeLock: "ctirelay:intake:" + names["inbox"], outputLock: "ctirelay:output:" + names["journal"]}
}

// server names the server a DSN points at, for errors: host, then the
// instance or port when the DSN gives one.
func server(cfg msdsn.Config) string {
	switch {
	case cfg.Instance != "":
		return cfg.Host + `\` + cfg.Instance
	case cfg.Port != 0:
		return fmt.Sprintf("%s:%d", cfg.Host, cfg.Port)
	}
	return cfg.Host
}

// DB is the store's connection pool, for the migrator and for tools.
func (s *Store) DB() *sql.DB { return s.db.DB }

// Names are the table names the store works on.
func (s *Store) Names() map[string]string { return s.opts.Names() }

// Migrate applies the pending schema steps and returns those it ran. Several
// relays may call it at once: the migrator holds a session applock.
func (s *Store) Migrate(ctx context.Context) ([]schema.Migration, error) { return s.pool.Migrate(ctx) }

// Pending lists the schema steps not yet applied, changing nothing.
func (s *Store) Pending(ctx context.Context) ([]schema.Migration, error) { return s.pool.Pending(ctx) }

// Close closes the pool. It is safe to call twice.
func (s *Store) Close() error { return s.pool.Close() }

func (s *Store) check() error { return s.pool.Check() }

// Wakeups implements relay.Queue: SQL Server has no LISTEN/NOTIFY, so the
// engine polls (nil channels never fire).
func (s *Store) Wakeups() (intake, claim <-chan struct{}) { return nil, nil }

// WakesAtOnce implements relay.Queue: SQL Server has no notifications here.
func (s *Store) WakesAtOnce() bool { return false }

// inTx runs fn in one transaction at the database's default READ COMMITTED
// (with or without READ_COMMITTED_SNAPSHOT: see docs/operations.md; no
// isolation is set, which would cost a round trip), running it again
// when SQL Server ended it as a deadlock victim or on a lock timeout: fn
// must set its results from scratch each time.
func (s *Store) inTx(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	if err := s.check(); err != nil {
		return err
	}
	var err error
	for attempt := 1; ; attempt++ {
		err = store.InTx(ctx, s.db, nil, fn)
		if err == nil || !transient(err) || attempt == txAttempts || ctx.Err() != nil {
			break
		}
		s.log.Debug("sqlserver transaction ended by the server: running it again", "op", op, "attempt", attempt, "err", err)
	}
	return fail(op, err)
}

// query runs a statement that returns rows outside a transaction of ours
// (one statement is one transaction), failing once the store is closed.
func (s *Store) query(ctx context.Context, name query, args ...any) (*sql.Rows, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	return s.db.QueryContext(ctx, s.q.sql(name), args...)
}

// exec runs a statement as its own transaction, retried like inTx.
func (s *Store) exec(ctx context.Context, op string, name query, args ...any) (sql.Result, error) {
	var res sql.Result
	err := s.inTx(ctx, op, func(tx *sql.Tx) error {
		var err error
		res, err = tx.ExecContext(ctx, s.q.sql(name), args...)
		return err
	})
	return res, err
}
