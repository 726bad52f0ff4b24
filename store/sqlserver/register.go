package sqlserver

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
		Schemes: []string{"sqlserver://"},
		Usage:   "sqlserver://…",
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
	erp, err := sql.Open("sqlserver", dsn)
	if err != nil {
		return nil, fmt.Errorf("bench database: %w", err)
	}
	st, err := Open(ctx, dsn, opts)
	if err != nil {
		_ = erp.Close()
		return nil, fmt.Errorf("bench database: %w", err)
	}
	names := opts.Names()
	dropSchema := func() error { return dropAll(context.WithoutCancel(ctx), erp, names) }
	if _, err := st.Migrate(ctx); err != nil {
		_ = st.Close()
		_ = dropSchema()
		_ = erp.Close()
		return nil, fmt.Errorf("bench database: %w", err)
	}
	erp.SetMaxOpenConns(2)
	return &store.BenchTarget{Store: st, ERP: erp, Names: names, Where: "schema " + opts.Schema, Drop: func() error {
		cerr := st.Close()
		var derr error
		if !spec.Keep {
			derr = dropSchema()
		}
		return errors.Join(cerr, derr, erp.Close())
	}}, nil
}

// dropAll drops what the migrations created in a bench schema, then the
// schema (SQL Server has no DROP SCHEMA … CASCADE).
func dropAll(ctx context.Context, db *sql.DB, names map[string]string) error {
	var errs []error
	for _, v := range []string{"queue_status", "agent_status", "throughput"} {
		if _, err := db.ExecContext(ctx, "DROP VIEW IF EXISTS "+names[v]); err != nil {
			errs = append(errs, err)
		}
	}
	for _, t := range []string{"tti", "tto", "inbox", "dead", "journal", "cursor", "node", "job_run", "tto_mark", "migrations"} {
		if _, err := db.ExecContext(ctx, "DROP TABLE IF EXISTS "+names[t]); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := db.ExecContext(ctx, "DROP SCHEMA IF EXISTS "+names["schema"]); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// floor is one batch: an ordered CTE deletes the oldest rows into a table
// variable, whose text goes to T_TTO in order.
func floor(names map[string]string) []string {
	tti, tto := names["tti"], names["tto"]
	return []string{`SET NOCOUNT ON;
DECLARE @moved TABLE (IS_TTI bigint NOT NULL PRIMARY KEY, DS_TTI nvarchar(max) NOT NULL);
WITH oldest AS (
    SELECT TOP (@p1) IS_TTI, DS_TTI FROM ` + tti + ` WITH (ROWLOCK, UPDLOCK, READPAST) ORDER BY IS_TTI
)
DELETE FROM oldest OUTPUT deleted.IS_TTI, deleted.DS_TTI INTO @moved;
INSERT INTO ` + tto + ` (DS_TTO) SELECT DS_TTI FROM @moved ORDER BY IS_TTI;`}
}
