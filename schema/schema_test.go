package schema_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"
	_ "modernc.org/sqlite"

	"github.com/ctirelay/ctirelay/schema"
	"github.com/ctirelay/ctirelay/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func openSQLite(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_txlock=immediate&_busy_timeout=10000&_journal_mode=WAL")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func names(t *testing.T, o store.Options) map[string]string {
	t.Helper()
	o, err := o.WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	return o.Names()
}

func TestMigrations(t *testing.T) {
	t.Parallel()
	for _, d := range []string{schema.SQLite, schema.Postgres} {
		ms, err := schema.Migrations(d)
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		for i, m := range ms {
			if i > 0 && m.Version <= ms[i-1].Version {
				t.Errorf("%s: %s not after %s", d, m.File, ms[i-1].File)
			}
			if !strings.HasPrefix(m.File, "000") || !strings.HasSuffix(m.File, ".sql") || m.SQL == "" {
				t.Errorf("%s: odd migration %+v", d, m)
			}
		}
	}
	ms, err := schema.Migrations(schema.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 || ms[0].Version != 1 || ms[0].Name != "init" || ms[0].File != "0001_init.sql" {
		t.Fatalf("sqlite first step = %+v", ms[0])
	}
	if _, err := schema.Migrations("oracle"); err == nil || !strings.Contains(err.Error(), `"oracle"`) {
		t.Fatalf("unknown dialect: err = %v", err)
	}
}

func TestRenderUsesConfiguredNames(t *testing.T) {
	t.Parallel()
	ms, err := schema.Migrations(schema.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	n := names(t, store.Options{InboundTable: "ERP_IN", OutboundTable: "ERP_OUT", Prefix: "cti_"})
	sql := schema.Render(ms[0], n)
	for _, want := range []string{"CREATE TABLE IF NOT EXISTS ERP_IN (", "CREATE TABLE IF NOT EXISTS ERP_OUT (", "CREATE TABLE cti_inbox (", "CREATE VIEW cti_queue_status AS"} {
		if !strings.Contains(sql, want) {
			t.Errorf("rendered SQL lacks %q", want)
		}
	}
	if strings.Contains(sql, "{{") || strings.Contains(sql, "T_TTI") || strings.Contains(sql, "relay_") {
		t.Errorf("rendered SQL still holds a default name or placeholder")
	}
	boot, err := schema.Bootstrap(schema.SQLite, n)
	if err != nil || !strings.Contains(boot, "CREATE TABLE IF NOT EXISTS cti_schema_migrations") {
		t.Fatalf("bootstrap = %q, %v", boot, err)
	}
	boot, err = schema.Bootstrap(schema.Postgres, names(t, store.Options{Schema: "cti"}))
	if err != nil || !strings.HasPrefix(boot, "CREATE SCHEMA IF NOT EXISTS cti;\n") || !strings.Contains(boot, "cti.relay_schema_migrations") {
		t.Fatalf("postgres bootstrap = %q, %v", boot, err)
	}
}

func TestApplySQLite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openSQLite(t, filepath.Join(t.TempDir(), "relay.db"))
	n := names(t, store.Options{})

	all, err := schema.Migrations(schema.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	pending, err := schema.Pending(ctx, db, schema.SQLite, n)
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

	applied, err := schema.Apply(ctx, db, schema.SQLite, n)
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

	again, err := schema.Apply(ctx, db, schema.SQLite, n)
	if err != nil || len(again) != 0 {
		t.Fatalf("second Apply: %+v, %v", again, err)
	}
	pending, err = schema.Pending(ctx, db, schema.SQLite, n)
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
	if _, err := schema.Apply(ctx, db, schema.SQLite, names(t, store.Options{})); err != nil {
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
	var wg sync.WaitGroup
	counts := make([]int, len(dbs))
	errs := make([]error, len(dbs))
	for i, db := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			applied, err := schema.Apply(ctx, db, schema.SQLite, n)
			counts[i], errs[i] = len(applied), err
		}()
	}
	wg.Wait()
	total := 0
	for i := range dbs {
		if errs[i] != nil {
			t.Fatalf("migrator %d: %v", i, errs[i])
		}
		total += counts[i]
	}
	all, _ := schema.Migrations(schema.SQLite)
	if total != len(all) {
		t.Fatalf("%d steps applied in all, want %d", total, len(all))
	}
	var rows int
	if err := dbs[0].QueryRow(`SELECT count(*) FROM relay_schema_migrations`).Scan(&rows); err != nil || rows != len(all) {
		t.Fatalf("%d recorded, %v", rows, err)
	}
}

func TestApplyUnknownDialect(t *testing.T) {
	t.Parallel()
	db := openSQLite(t, filepath.Join(t.TempDir(), "x.db"))
	if _, err := schema.Apply(context.Background(), db, "mysql", nil); err == nil {
		t.Fatal("no error for an unknown dialect")
	}
	if _, err := schema.Pending(context.Background(), db, "mysql", nil); err == nil {
		t.Fatal("no error for an unknown dialect")
	}
}
