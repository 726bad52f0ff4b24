package postgres

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/ctirelay/ctirelay/store"
)

func init() {
	store.Register(store.Dialect{
		Name:    Migrations.Name,
		Schemes: []string{"postgres://", "postgresql://"},
		Usage:   "postgres://…",
		Open: func(ctx context.Context, dsn string, opts store.Options, _ bool) (store.DB, error) {
			return Open(ctx, dsn, opts)
		},
		Migrations: Migrations,
		Bench:      store.Bench{Open: openBench, Floor: floor},
	})
}

// openBench creates a throwaway schema in the database dsn names: the
// configured tables are never touched.
func openBench(ctx context.Context, dsn string, spec store.BenchSpec) (*store.BenchTarget, error) {
	var suffix [4]byte
	_, _ = rand.Read(suffix[:])
	opts := spec.Options
	opts.Schema = "ctirelay_bench_" + hex.EncodeToString(suffix[:])
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
		_, err := erp.ExecContext(context.WithoutCancel(ctx), "DROP SCHEMA "+opts.Schema+" CASCADE")
		return err
	}
	fail := func(err error) (*store.BenchTarget, error) {
		_ = dropSchema()
		_ = erp.Close()
		return nil, err
	}
	st, err := Open(ctx, dsn, opts)
	if err != nil {
		return fail(fmt.Errorf("bench database: %w", err))
	}
	if _, err := st.Migrate(ctx); err != nil {
		_ = st.Close()
		return fail(fmt.Errorf("bench database: %w", err))
	}
	if err := st.SetNotifyTrigger(ctx, spec.Notify); err != nil {
		_ = st.Close()
		return fail(fmt.Errorf("bench database: %w", err))
	}
	erp.SetMaxOpenConns(2)
	return &store.BenchTarget{Store: st, ERP: erp, Names: opts.Names(), Where: "schema " + opts.Schema, Drop: func() error {
		cerr := st.Close()
		var derr error
		if !spec.Keep {
			derr = dropSchema()
		}
		return errors.Join(cerr, derr, erp.Close())
	}}, nil
}

// floor is one statement: a data-modifying CTE deletes the oldest rows and
// inserts their text in order.
func floor(names map[string]string) []string {
	tti, tto := names["tti"], names["tto"]
	return []string{`WITH moved AS (
    DELETE FROM ` + tti + ` WHERE IS_TTI = ANY (ARRAY(
        SELECT IS_TTI FROM ` + tti + ` ORDER BY IS_TTI LIMIT $1 FOR UPDATE SKIP LOCKED))
    RETURNING IS_TTI, DS_TTI)
INSERT INTO ` + tto + ` (DS_TTO) SELECT DS_TTI FROM moved ORDER BY IS_TTI`}
}
