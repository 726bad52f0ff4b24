package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctirelay/ctirelay/schema"
	"github.com/ctirelay/ctirelay/schema/schematest"
	"github.com/ctirelay/ctirelay/store"
	"github.com/ctirelay/ctirelay/store/sqlite"
)

// The SQLite steps, applied by the migrator of package schema on a bare
// connection (no store), as ctirelay migrate does.

// openSQLite is the package's name for schematest.OpenSQLite.
var openSQLite = schematest.OpenSQLite

func names(t *testing.T, o store.Options) map[string]string {
	t.Helper()
	o, err := o.WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	return o.Names()
}

func TestMigrationSteps(t *testing.T) {
	t.Parallel()
	ms, err := sqlite.Migrations.Steps()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 || ms[0].Version != 1 || ms[0].Name != "init" || ms[0].File != "0001_init.sql" {
		t.Fatalf("sqlite first step = %+v", ms)
	}
}

func TestRenderUsesConfiguredNames(t *testing.T) {
	t.Parallel()
	ms, err := sqlite.Migrations.Steps()
	if err != nil {
		t.Fatal(err)
	}
	n := names(t, store.Options{InboundTable: "ERP_IN", OutboundTable: "ERP_OUT", Prefix: "cti_"})
	sql := ms[0].Rendered(n)
	for _, want := range []string{"CREATE TABLE IF NOT EXISTS ERP_IN (", "CREATE TABLE IF NOT EXISTS ERP_OUT (", "CREATE TABLE cti_inbox (", "CREATE VIEW cti_queue_status AS"} {
		if !strings.Contains(sql, want) {
			t.Errorf("rendered SQL lacks %q", want)
		}
	}
	if strings.Contains(sql, "{{") || strings.Contains(sql, "T_TTI") || strings.Contains(sql, "relay_") {
		t.Errorf("rendered SQL still holds a default name or placeholder")
	}
	if boot := sqlite.Migrations.BootstrapSQL(n); !strings.Contains(boot, "CREATE TABLE IF NOT EXISTS cti_schema_migrations") {
		t.Fatalf("bootstrap = %q", boot)
	}
}

func TestApplySQLite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openSQLite(t, filepath.Join(t.TempDir(), "relay.db"))
	n := names(t, store.Options{})

	all, err := sqlite.Migrations.Steps()
	if err != nil {
		t.Fatal(err)
	}
	pending, err := sqlite.Migrations.Pending(ctx, db, n)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != len(all) {
		t.Fatalf("fresh database: %d pending, want %d", len(pending), len(all))
	}
	var tables int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_master`).Scan(&tables); err != nil || tables != 0 {
		t.Fatalf("Pending created something: %d objects, %v", tables, err)
	}

	applied, err := sqlite.Migrations.Apply(ctx, db, n)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != len(all) || applied[0].File != "0001_init.sql" {
		t.Fatalf("applied %+v", applied)
	}
	var version int
	var name string
	var at int64
	if err := db.QueryRow(`SELECT version, name, applied_at FROM relay_schema_migrations`).Scan(&version, &name, &at); err != nil {
		t.Fatal(err)
	}
	if version != 1 || name != "init" || at <= 0 {
		t.Fatalf("recorded %d %q %d", version, name, at)
	}
	for _, table := range []string{"T_TTI", "T_TTO", "relay_inbox", "relay_dead", "relay_journal", "relay_cursor", "relay_node", "relay_job_run", "relay_queue_status", "relay_agent_status", "relay_throughput"} {
		if _, err := db.Exec(`SELECT * FROM ` + table + ` LIMIT 0`); err != nil {
			t.Errorf("%s: %v", table, err)
		}
	}

	again, err := sqlite.Migrations.Apply(ctx, db, n)
	if err != nil || len(again) != 0 {
		t.Fatalf("second Apply: %+v, %v", again, err)
	}
	pending, err = sqlite.Migrations.Pending(ctx, db, n)
	if err != nil || len(pending) != 0 {
		t.Fatalf("after Apply: pending %+v, %v", pending, err)
	}
}

// The ERP's tables may exist before the relay is installed; they are kept as
// they are, rows included.
func TestApplyKeepsExistingLegacyTables(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openSQLite(t, filepath.Join(t.TempDir(), "erp.db"))
	if _, err := db.Exec(`CREATE TABLE T_TTI (IS_TTI INTEGER PRIMARY KEY, DS_TTI TEXT);
		INSERT INTO T_TTI VALUES (7, '<jose><S>$');`); err != nil {
		t.Fatal(err)
	}
	if _, err := sqlite.Migrations.Apply(ctx, db, names(t, store.Options{})); err != nil {
		t.Fatal(err)
	}
	var ddl, ds string
	if err := db.QueryRow(`SELECT sql FROM sqlite_master WHERE name = 'T_TTI'`).Scan(&ddl); err != nil {
		t.Fatal(err)
	}
	if ddl != "CREATE TABLE T_TTI (IS_TTI INTEGER PRIMARY KEY, DS_TTI TEXT)" {
		t.Fatalf("T_TTI altered: %s", ddl)
	}
	if err := db.QueryRow(`SELECT DS_TTI FROM T_TTI WHERE IS_TTI = 7`).Scan(&ds); err != nil || ds != "<jose><S>$" {
		t.Fatalf("row lost: %q %v", ds, err)
	}
}

// Two relays starting at once on one SQLite file: each step runs once.
func TestApplyConcurrentSQLite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "relay.db")
	n := names(t, store.Options{})
	dbs := []*sql.DB{openSQLite(t, path), openSQLite(t, path), openSQLite(t, path)}
	total := schematest.ApplyConcurrently(t, len(dbs), func(i int) ([]schema.Migration, error) {
		return sqlite.Migrations.Apply(ctx, dbs[i], n)
	})
	all, _ := sqlite.Migrations.Steps()
	if total != len(all) {
		t.Fatalf("%d steps applied in all, want %d", total, len(all))
	}
	var rows int
	if err := dbs[0].QueryRow(`SELECT count(*) FROM relay_schema_migrations`).Scan(&rows); err != nil || rows != len(all) {
		t.Fatalf("%d recorded, %v", rows, err)
	}
}
