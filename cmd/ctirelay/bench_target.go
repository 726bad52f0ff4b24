package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	_ "github.com/lib/pq" // the ERP's own connection on PostgreSQL

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/schema"
	"github.com/ctirelay/ctirelay/store"
	"github.com/ctirelay/ctirelay/store/postgres"
	"github.com/ctirelay/ctirelay/store/sqlite"
)

// benchTarget is a set of tables of the bench's own, created fresh for one
// run: a schema of their own on PostgreSQL, a throwaway file beside the
// configured one on SQLite. The configured tables are never touched.
type benchTarget struct {
	dialect string
	store   database // the relay's store, statements counted
	erp     *sql.DB  // the ERP's own connection, not counted
	names   map[string]string
	counter *sqlCounter
	drop    func() error // removes everything the run created
	where   string       // what the report names: the schema or the file
}

// benchDBSpec is what --db and the SQLite settings say about the target.
type benchDBSpec struct {
	dsn         string
	synchronous string // SQLite
	notify      bool   // PostgreSQL: install the T_TTI notify trigger
	keep        bool   // leave the tables for inspection
}

func randomSuffix() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// openBenchTarget creates the run's tables and opens the store on them.
func openBenchTarget(ctx context.Context, spec benchDBSpec, log *slog.Logger) (*benchTarget, error) {
	dialect, target, err := parseDSN(spec.dsn)
	if err != nil {
		return nil, fmt.Errorf("--db: %w", err)
	}
	counter := &sqlCounter{}
	opts := store.Options{Logger: log, WrapConnector: counter.wrap}
	switch dialect {
	case schema.SQLite:
		return openSQLiteTarget(ctx, target, spec, opts, counter)
	case schema.Postgres:
		return openPostgresTarget(ctx, target, spec, opts, counter)
	}
	return nil, fmt.Errorf("--db: bench runs on sqlite: or postgres://, not %s", dialect)
}

func openSQLiteTarget(ctx context.Context, path string, spec benchDBSpec, opts store.Options, counter *sqlCounter) (*benchTarget, error) {
	file := filepath.Join(filepath.Dir(path), "ctirelay-bench-"+randomSuffix()+".db")
	remove := func() error {
		var errs []error
		for _, f := range []string{file, file + "-wal", file + "-shm", file + ".lock"} {
			if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	}
	st, err := sqlite.OpenConfig(ctx, file, opts, sqlite.Config{Exclusive: true, Synchronous: spec.synchronous})
	if err != nil {
		return nil, fmt.Errorf("bench database: %w", err)
	}
	fail := func(err error) (*benchTarget, error) {
		_ = st.Close()
		_ = remove()
		return nil, err
	}
	if _, err := st.Migrate(ctx); err != nil {
		return fail(fmt.Errorf("bench database: %w", err))
	}
	sync := strings.ToUpper(spec.synchronous)
	if sync == "" {
		sync = "FULL"
	}
	q := url.Values{}
	q.Set("_busy_timeout", "10000")
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", sync)
	q.Set("_txlock", "immediate")
	erp, err := sql.Open("sqlite", file+"?"+q.Encode())
	if err != nil {
		return fail(fmt.Errorf("bench database: erp connection: %w", err))
	}
	erp.SetMaxOpenConns(1)
	t := &benchTarget{dialect: schema.SQLite, store: st, erp: erp, names: st.Names(), counter: counter, where: file}
	t.drop = func() error {
		_ = erp.Close()
		cerr := st.Close()
		if spec.keep {
			return cerr
		}
		return errors.Join(cerr, remove())
	}
	return t, nil
}

func openPostgresTarget(ctx context.Context, dsn string, spec benchDBSpec, opts store.Options, counter *sqlCounter) (*benchTarget, error) {
	opts.Schema = "ctirelay_bench_" + randomSuffix()
	opts, err := opts.WithDefaults()
	if err != nil {
		return nil, err
	}
	erp, err := sql.Open("postgres", dsn)
	if err != nil {
		return nil, fmt.Errorf("bench database: %w", err)
	}
	if _, err := erp.ExecContext(ctx, "CREATE SCHEMA "+opts.Schema); err != nil {
		_ = erp.Close()
		return nil, fmt.Errorf("bench database: create schema: %w", err)
	}
	dropSchema := func() error {
		ctx := context.WithoutCancel(ctx)
		_, err := erp.ExecContext(ctx, "DROP SCHEMA "+opts.Schema+" CASCADE")
		return err
	}
	fail := func(err error) (*benchTarget, error) {
		_ = dropSchema()
		_ = erp.Close()
		return nil, err
	}
	st, err := postgres.Open(ctx, dsn, opts)
	if err != nil {
		return fail(fmt.Errorf("bench database: %w", err))
	}
	if _, err := st.Migrate(ctx); err != nil {
		_ = st.Close()
		return fail(fmt.Errorf("bench database: %w", err))
	}
	if err := st.SetNotifyTrigger(ctx, spec.notify); err != nil {
		_ = st.Close()
		return fail(fmt.Errorf("bench database: %w", err))
	}
	erp.SetMaxOpenConns(2)
	t := &benchTarget{dialect: schema.Postgres, store: st, erp: erp, names: opts.Names(), counter: counter, where: "schema " + opts.Schema}
	t.drop = func() error {
		cerr := st.Close()
		var derr error
		if !spec.keep {
			derr = dropSchema()
		}
		return errors.Join(cerr, derr, erp.Close())
	}
	return t, nil
}

// notifier returns the store's wake-ups when it has them.
func (t *benchTarget) notifier() (relay.Notifier, bool) {
	n, ok := t.store.(relay.Notifier)
	return n, ok
}
