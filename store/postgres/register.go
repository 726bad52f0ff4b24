package postgres

import (
	"context"
	"database/sql"

	"github.com/ctirelay/ctirelay/store"
)

func init() {
	store.Register(store.Server{
		Schemes:    []string{"postgres://", "postgresql://"},
		Migrations: Migrations,
		Open:       store.OpenAs(Open),
		Bench:      bench,
		Floor:      floor,
	}.Dialect())
}

// bench is ctirelay bench's throwaway schema; DROP SCHEMA … CASCADE takes
// the tables, views and notify function with it.
var bench = store.BenchSchema{
	Driver: "postgres",
	Create: func(ctx context.Context, db *sql.DB, names map[string]string) error {
		_, err := db.ExecContext(ctx, "CREATE SCHEMA "+names["schema"])
		return err
	},
	Drop: func(ctx context.Context, db *sql.DB, names map[string]string) error {
		_, err := db.ExecContext(ctx, "DROP SCHEMA "+names["schema"]+" CASCADE")
		return err
	},
	Ready: func(ctx context.Context, st store.DB, spec store.BenchSpec) error {
		return st.(*Store).SetNotifyTrigger(ctx, spec.Notify)
	},
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
