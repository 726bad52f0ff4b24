package sqlserver

import (
	"context"
	"database/sql"
	"errors"

	"github.com/ctirelay/ctirelay/store"
)

func init() {
	store.Register(store.Server{
		Schemes:    []string{"sqlserver://"},
		Migrations: Migrations,
		Open:       store.OpenAs(Open),
		Bench:      bench,
		Floor:      floor,
	}.Dialect())
}

// bench is ctirelay bench's throwaway schema, which the migrations create.
var bench = store.BenchSchema{
	Driver: "sqlserver",
	Drop:   dropAll,
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
