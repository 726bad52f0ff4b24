package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
)

// BenchSchema is a server dialect's Bench.Open: the bench's tables in a
// throwaway schema of the database the DSN names (ctirelay_bench_ and a
// random suffix), so the configured tables are never touched.
type BenchSchema struct {
	Driver string // database/sql's name of the dialect's driver, for the ERP's connection
	// Open is the dialect's Dialect.Open.
	Open func(ctx context.Context, dsn string, opts Options, exclusive bool) (DB, error)
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
	st, err := b.Open(ctx, dsn, opts, false)
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
