package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/ctirelay/ctirelay/schema"
)

// Server is the registration of a server dialect: a database several relays
// share, named by a DSN, whose bench runs in a throwaway schema.
type Server struct {
	Schemes    []string // the DSN prefixes it takes; the first is its usage
	Migrations schema.Dialect
	// Open opens the store without migrating it.
	Open func(ctx context.Context, dsn string, opts Options) (DB, error)
	// Bench is the bench's schema (its Open is Server.Open).
	Bench BenchSchema
	Floor func(names map[string]string) []string // Bench.Floor
}

// Dialect is what Register takes for s. Exclusive changes nothing: every
// relay may share a server's database.
func (s Server) Dialect() Dialect {
	b := s.Bench
	b.Open = s.Open
	return Dialect{
		Name:    s.Migrations.Name,
		Schemes: s.Schemes,
		Open: func(ctx context.Context, dsn string, opts Options, _ bool) (DB, error) {
			return s.Open(ctx, dsn, opts)
		},
		Migrations: s.Migrations,
		Bench:      Bench{Open: b.OpenBench, Floor: s.Floor},
	}
}

// OpenAs is a dialect's Open as Server.Open takes it: a failed open is a
// nil DB, not a DB holding a nil store.
func OpenAs[S DB](open func(ctx context.Context, dsn string, opts Options) (S, error)) func(context.Context, string, Options) (DB, error) {
	return func(ctx context.Context, dsn string, opts Options) (DB, error) {
		st, err := open(ctx, dsn, opts)
		if err != nil {
			return nil, err
		}
		return st, nil
	}
}

// BenchSchema is a server dialect's Bench.Open: the bench's tables in a
// throwaway schema of the database the DSN names (ctirelay_bench_ and a
// random suffix), so the configured tables are never touched.
type BenchSchema struct {
	Driver string // database/sql's name of the dialect's driver, for the ERP's connection
	// Open opens the relay's store on opts, not migrated (Server.Open
	// when the dialect registers a Server).
	Open func(ctx context.Context, dsn string, opts Options) (DB, error)
	// Create, when set, creates the schema before the store opens; nil: the
	// migrations create it.
	Create func(ctx context.Context, erp *sql.DB, names map[string]string) error
	// Drop removes the schema and everything in it.
	Drop func(ctx context.Context, erp *sql.DB, names map[string]string) error
	// Ready, when set, finishes the migrated store for spec (PostgreSQL's
	// notify trigger).
	Ready func(ctx context.Context, st DB, spec BenchSpec) error
}

// OpenBench creates the schema, opens the store on it, migrated, and the
// ERP's connection beside it; whatever fails on the way is undone.
func (b BenchSchema) OpenBench(ctx context.Context, dsn string, spec BenchSpec) (*BenchTarget, error) {
	var suffix [4]byte
	_, _ = rand.Read(suffix[:])
	opts := spec.Options
	opts.Schema = "ctirelay_bench_" + hex.EncodeToString(suffix[:])
	opts, err := opts.WithDefaults()
	if err != nil {
		return nil, err
	}
	names := opts.Names()
	erp, err := sql.Open(b.Driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("bench database: %w", err)
	}
	created := false
	drop := func() error { return b.Drop(context.WithoutCancel(ctx), erp, names) }
	fail := func(st DB, err error) (*BenchTarget, error) {
		if st != nil {
			_ = st.Close()
		}
		if created {
			_ = drop()
		}
		_ = erp.Close()
		return nil, fmt.Errorf("bench database: %w", err)
	}
	if b.Create != nil {
		if err := b.Create(ctx, erp, names); err != nil {
			return fail(nil, fmt.Errorf("create schema: %w", err))
		}
		created = true
	}
	st, err := b.Open(ctx, dsn, opts)
	if err != nil {
		return fail(nil, err)
	}
	created = true // the migrations create what they need
	if _, err := st.Migrate(ctx); err != nil {
		return fail(st, err)
	}
	if b.Ready != nil {
		if err := b.Ready(ctx, st, spec); err != nil {
			return fail(st, err)
		}
	}
	erp.SetMaxOpenConns(2)
	return &BenchTarget{Store: st, ERP: erp, Names: names, Where: "schema " + opts.Schema, Drop: func() error {
		cerr := st.Close()
		var derr error
		if !spec.Keep {
			derr = drop()
		}
		return errors.Join(cerr, derr, erp.Close())
	}}, nil
}
