package schema_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"go.uber.org/goleak"
	_ "modernc.org/sqlite"

	"github.com/ctirelay/ctirelay/schema"
	"github.com/ctirelay/ctirelay/schema/schematest"
)

// The migrator is tested here on a dialect of the test's own (its steps in
// memory, on SQLite); each store package tests its real steps.

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func names(t *testing.T, tb schema.Tables) map[string]string {
	t.Helper()
	tb, err := tb.WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	return tb.Names()
}

// testDialect is SQLite's version table with steps of the test's own.
func testDialect(steps fstest.MapFS) schema.Dialect {
	return schema.Dialect{
		Name: "test",
		FS:   steps,
		Bootstrap: func(n map[string]string) string {
			return schema.Render("CREATE TABLE IF NOT EXISTS {{migrations}} (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)", n)
		},
		Exists:    `SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE`,
		IsApplied: `SELECT count(*) FROM {{migrations}} WHERE version = ?`,
		Record:    `INSERT INTO {{migrations}} (version, name, applied_at) VALUES (?, ?, ?)`,
		Stamp:     func(t time.Time) any { return t.UnixMicro() },
	}
}

func file(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }

var twoSteps = fstest.MapFS{
	"0002_more.sql": file("CREATE TABLE {{prefix}}more (id INTEGER);"),
	"0001_init.sql": file("CREATE TABLE {{inbox}} (id INTEGER); CREATE TABLE IF NOT EXISTS {{tti}} (IS_TTI INTEGER PRIMARY KEY, DS_TTI TEXT);"),
	"README.md":     file("not a step"),
	"0003_x.txt":    file("not a step either"),
}

func TestSteps(t *testing.T) {
	t.Parallel()
	ms, err := testDialect(twoSteps).Steps()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Version != 1 || ms[0].Name != "init" || ms[0].File != "0001_init.sql" || ms[1].Version != 2 || ms[1].Name != "more" {
		t.Fatalf("steps = %+v", ms)
	}
	dup := fstest.MapFS{"0001_a.sql": file("SELECT 1"), "0001_b.sql": file("SELECT 2")}
	if _, err := testDialect(dup).Steps(); err == nil || !strings.Contains(err.Error(), "share version 1") {
		t.Fatalf("two steps of one version: err = %v", err)
	}
	if _, err := (schema.Dialect{Name: "oracle"}).Steps(); err == nil || !strings.Contains(err.Error(), "oracle") {
		t.Fatalf("a dialect without migrations: err = %v", err)
	}
}

func TestTablesValidate(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		tb   schema.Tables
		want string
	}{
		{schema.Tables{InboundTable: "T_TTI; DROP TABLE x"}, "invalid inbound_table"},
		{schema.Tables{OutboundTable: "a b"}, "invalid outbound_table"},
		{schema.Tables{Schema: "cti-prod"}, "invalid schema"},
		{schema.Tables{Prefix: "1relay_"}, "invalid prefix"},
		{schema.Tables{Prefix: strings.Repeat("p", schema.MaxPrefix+1)}, "at most 46"},
		{schema.Tables{InboundTable: "erp", OutboundTable: "ERP"}, "both"},
	} {
		if _, err := c.tb.WithDefaults(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err = %v, want %q", c.tb, err, c.want)
		}
	}
	tb, err := schema.Tables{}.WithDefaults()
	if err != nil || tb != (schema.Tables{InboundTable: "T_TTI", OutboundTable: "T_TTO", Prefix: "relay_"}) {
		t.Fatalf("defaults = %+v, %v", tb, err)
	}
}

func TestRenderUsesConfiguredNames(t *testing.T) {
	t.Parallel()
	n := names(t, schema.Tables{Schema: "cti", InboundTable: "ERP_IN", OutboundTable: "ERP_OUT", Prefix: "cti_"})
	got := schema.Render("SELECT * FROM {{tti}}, {{tto}}, {{inbox}}, {{migrations}} -- {{tti_name}} {{prefix}} {{schema}}", n)
	want := "SELECT * FROM cti.ERP_IN, cti.ERP_OUT, cti.cti_inbox, cti.cti_schema_migrations -- ERP_IN cti_ cti"
	if got != want {
		t.Fatalf("Render = %q, want %q", got, want)
	}
	for _, bad := range []string{"SELECT {{nope}}", "SELECT {{tti"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Render(%q) did not panic", bad)
				}
			}()
			schema.Render(bad, n)
		}()
	}
}

func TestApply(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := schematest.OpenSQLite(t, filepath.Join(t.TempDir(), "relay.db"))
	d := testDialect(twoSteps)
	n := names(t, schema.Tables{})

	pending, err := d.Pending(ctx, db, n)
	if err != nil || len(pending) != 2 {
		t.Fatalf("fresh database: pending %+v, %v", pending, err)
	}
	var objects int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_master`).Scan(&objects); err != nil || objects != 0 {
		t.Fatalf("Pending created something: %d objects, %v", objects, err)
	}
	applied, err := d.Apply(ctx, db, n)
	if err != nil || len(applied) != 2 || applied[0].File != "0001_init.sql" {
		t.Fatalf("applied %+v, %v", applied, err)
	}
	var version int
	var name string
	var at int64
	if err := db.QueryRow(`SELECT version, name, applied_at FROM relay_schema_migrations WHERE version = 1`).Scan(&version, &name, &at); err != nil {
		t.Fatal(err)
	}
	if version != 1 || name != "init" || at <= 0 {
		t.Fatalf("recorded %d %q %d", version, name, at)
	}
	for _, table := range []string{"T_TTI", "relay_inbox", "relay_more"} {
		if _, err := db.Exec(`SELECT * FROM ` + table + ` LIMIT 0`); err != nil {
			t.Errorf("%s: %v", table, err)
		}
	}
	again, err := d.Apply(ctx, db, n)
	if err != nil || len(again) != 0 {
		t.Fatalf("second Apply: %+v, %v", again, err)
	}
	if pending, err = d.Pending(ctx, db, n); err != nil || len(pending) != 0 {
		t.Fatalf("after Apply: pending %+v, %v", pending, err)
	}
}

// A step that fails leaves nothing of itself and no record: the next Apply
// runs it again.
func TestApplyFailedStepIsNotRecorded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := schematest.OpenSQLite(t, filepath.Join(t.TempDir(), "relay.db"))
	n := names(t, schema.Tables{})
	bad := fstest.MapFS{
		"0001_init.sql": file("CREATE TABLE {{inbox}} (id INTEGER);"),
		"0002_bad.sql":  file("CREATE TABLE {{dead}} (id INTEGER); SELECT no_such_function();"),
	}
	applied, err := testDialect(bad).Apply(ctx, db, n)
	if err == nil || !strings.Contains(err.Error(), "0002_bad.sql") || len(applied) != 1 {
		t.Fatalf("Apply = %+v, %v; want step 1 applied and step 2's error", applied, err)
	}
	if _, err := db.Exec(`SELECT * FROM relay_dead`); err == nil {
		t.Fatal("the failed step's table exists")
	}
	pending, err := testDialect(bad).Pending(ctx, db, n)
	if err != nil || len(pending) != 1 || pending[0].Version != 2 {
		t.Fatalf("pending = %+v, %v", pending, err)
	}
}

// Migrators started together: each step runs once.
func TestApplyConcurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "relay.db")
	n := names(t, schema.Tables{})
	d := testDialect(twoSteps)
	dbs := []*sql.DB{schematest.OpenSQLite(t, path), schematest.OpenSQLite(t, path), schematest.OpenSQLite(t, path)}
	total := schematest.ApplyConcurrently(t, len(dbs), func(i int) ([]schema.Migration, error) {
		return d.Apply(ctx, dbs[i], n)
	})
	if total != 2 {
		t.Fatalf("%d steps applied in all, want 2", total)
	}
}

// A dialect's lock is held around the whole run, on the run's connection,
// and released at the end.
func TestApplyHoldsTheLock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := schematest.OpenSQLite(t, filepath.Join(t.TempDir(), "relay.db"))
	d := testDialect(twoSteps)
	var events []string
	d.Lock = func(ctx context.Context, c *sql.Conn) (func() error, error) {
		events = append(events, "lock")
		return func() error { events = append(events, "unlock"); return nil }, nil
	}
	d.Bootstrap = func(n map[string]string) string {
		events = append(events, "bootstrap")
		return testDialect(nil).Bootstrap(n)
	}
	if _, err := d.Apply(ctx, db, names(t, schema.Tables{})); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(events, " "); got != "lock bootstrap unlock" {
		t.Fatalf("events = %q", got)
	}
}
