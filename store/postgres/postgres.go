// Package postgres is the PostgreSQL dialect of the relay store (lib/pq,
// sqlx). Several relays may share one database: claims skip rows another
// relay holds, intake and output are ordered by advisory locks, and
// LISTEN/NOTIFY wakes relays when work arrives.
//
// Every Store call is one transaction, and every batch is one statement over
// arrays (unnest), so a call costs a round trip or two whatever its size.
// Errors name the operation; when the database cannot be reached they also
// match ErrUnavailable (see IsUnavailable), which callers treat as transient.
package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/schema"
	"github.com/ctirelay/ctirelay/store"
)

var _ relay.Store = (*Store)(nil)

// Store is a relay.Store on PostgreSQL, woken by LISTEN/NOTIFY.
type Store struct {
	db    *sqlx.DB
	q     *queries
	opts  store.Options
	names map[string]string // store.Options.Names(): for the migrator
	log   *slog.Logger
	wake  *listener
	pool  *store.Pool // db, closing, named locks (singleton.go)
}

// Open connects to the database named by dsn (a lib/pq URL or key=value
// string) and starts listening for wake-ups. It does not migrate: call
// Migrate (or check Pending) before using the store.
func Open(ctx context.Context, dsn string, opts store.Options) (*Store, error) {
	opts, err := opts.WithDefaults()
	if err != nil {
		return nil, fmt.Errorf("postgres store: %w", err)
	}
	cfg, err := pq.NewConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres store: parse dsn: %w", err)
	}
	if cfg.Runtime == nil {
		cfg.Runtime = map[string]string{}
	}
	if opts.Schema != "" {
		// Everything the relay names is schema-qualified; the search path
		// only decides where the migration's notify function is created.
		cfg.Runtime["search_path"] = strings.ToLower(opts.Schema)
	}
	// Every statement of the relay reaches its rows through an index. Queue
	// tables swing from empty to a large backlog between two ANALYZEs, and a
	// plan made (and cached) while T_TTI or the inbox was empty would scan
	// them whole for every batch afterwards: seconds per call, measured.
	cfg.Runtime["enable_seqscan"] = "off"
	conn, err := pq.NewConnectorConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres store: %w", err)
	}
	pool, err := store.OpenPool(ctx, "postgres", conn, opts, Migrations, fail)
	if err != nil {
		return nil, fail("postgres store: connect", err)
	}
	q, err := loadQueries(sqlNames(opts))
	if err != nil {
		_ = pool.Close()
		return nil, err
	}
	s := &Store{db: pool.DB, q: q, opts: opts, names: opts.Names(), log: opts.Logger, pool: pool}
	if s.wake, err = listen(ctx, dsn, s.log); err != nil {
		_ = pool.Close()
		return nil, err
	}
	return s, nil
}

// DB is the store's connection pool, for the migrator and for tools.
func (s *Store) DB() *sql.DB { return s.db.DB }

// Migrate applies the pending schema steps and returns those it ran. Several
// relays may call it at once: the migrator holds an advisory lock.
func (s *Store) Migrate(ctx context.Context) ([]schema.Migration, error) { return s.pool.Migrate(ctx) }

// Pending lists the schema steps not yet applied, changing nothing.
func (s *Store) Pending(ctx context.Context) ([]schema.Migration, error) { return s.pool.Pending(ctx) }

// Close stops listening and closes the pool. It is safe to call twice.
func (s *Store) Close() error {
	return s.pool.Close(func() error {
		s.wake.close()
		return s.q.close()
	})
}

func (s *Store) check() error { return s.pool.Check() }

// stmt returns a prepared statement, failing once the store is closed.
func (s *Store) stmt(ctx context.Context, name query) (*sqlx.Stmt, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	return s.q.stmt(ctx, s.db, name)
}

// query runs a prepared statement that returns rows.
func (s *Store) query(ctx context.Context, name query, args ...any) (*sql.Rows, error) {
	st, err := s.stmt(ctx, name)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// row runs a prepared statement for one row; an error preparing it is the
// row's.
func (s *Store) row(ctx context.Context, name query, args ...any) store.RowScanner {
	st, err := s.stmt(ctx, name)
	if err != nil {
		return failedRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

type failedRow struct{ err error }

func (r failedRow) Scan(...any) error { return r.err }
