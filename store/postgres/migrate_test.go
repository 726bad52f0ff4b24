package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/ctirelay/ctirelay/internal/pgtest"
	"github.com/ctirelay/ctirelay/schema"
	"github.com/ctirelay/ctirelay/schema/schematest"
	"github.com/ctirelay/ctirelay/store"
	"github.com/ctirelay/ctirelay/store/postgres"
)

func TestMigrateTwiceIsANoOp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := open(t, pgtest.DSN(t), store.Options{})
	pending, err := s.Pending(ctx)
	if err != nil || len(pending) == 0 || pending[0].Version != 1 {
		t.Fatalf("Pending on an empty database = %+v, %v", pending, err)
	}
	first, err := s.Migrate(ctx)
	if err != nil || len(first) != len(pending) {
		t.Fatalf("first Migrate = %+v, %v; want %d steps", first, err, len(pending))
	}
	again, err := s.Migrate(ctx)
	if err != nil || len(again) != 0 {
		t.Fatalf("second Migrate = %+v, %v; want nothing applied", again, err)
	}
	if p, err := s.Pending(ctx); err != nil || len(p) != 0 {
		t.Fatalf("Pending after Migrate = %+v, %v", p, err)
	}
}

// Relays starting together all migrate; the migrator's lock makes exactly
// one of them apply each step.
func TestConcurrentMigrate(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	const relays = 3
	stores := make([]*postgres.Store, relays)
	for i := range stores {
		stores[i] = open(t, dsn, store.Options{})
	}
	total := schematest.ApplyConcurrently(t, relays, func(i int) ([]schema.Migration, error) {
		return stores[i].Migrate(context.Background())
	})
	all, err := stores[0].Pending(context.Background())
	if err != nil || len(all) != 0 {
		t.Fatalf("Pending after concurrent Migrate = %+v, %v", all, err)
	}
	steps, err := postgres.Migrations.Steps()
	if err != nil {
		t.Fatal(err)
	}
	if total != len(steps) {
		t.Fatalf("%d steps applied across relays, want each of the %d steps once", total, len(steps))
	}
}

// An ERP's existing T_TTI and T_TTO are left exactly as they are, and their
// (quoted, upper-case) names are not confused with the relay's unquoted ones.
func TestMigrateKeepsExistingLegacyTables(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	db := rawDB(t, dsn)
	for _, q := range []string{
		`CREATE TABLE T_TTI (IS_TTI integer PRIMARY KEY, DS_TTI varchar(255) NOT NULL)`,
		`CREATE TABLE T_TTO (IS_TTO serial PRIMARY KEY, DS_TTO varchar(255) NOT NULL)`,
		`INSERT INTO T_TTI VALUES (1, '<jose><L><ON>$')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	s := open(t, dsn, store.Options{})
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(`SELECT table_name, column_name, data_type FROM information_schema.columns
		WHERE table_name IN ('t_tti', 't_tto') ORDER BY table_name, ordinal_position`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var tbl, col, typ string
		if err := rows.Scan(&tbl, &col, &typ); err != nil {
			t.Fatal(err)
		}
		got = append(got, tbl+"."+col+" "+typ)
	}
	want := "t_tti.is_tti integer|t_tti.ds_tti character varying|t_tto.is_tto integer|t_tto.ds_tto character varying"
	if strings.Join(got, "|") != want {
		t.Fatalf("legacy tables after migrate:\n got %s\nwant %s", strings.Join(got, "|"), want)
	}
	var text string
	if err := db.QueryRow(`SELECT DS_TTI FROM T_TTI WHERE IS_TTI = 1`).Scan(&text); err != nil || text != "<jose><L><ON>$" {
		t.Fatalf("existing row: %q, %v", text, err)
	}
}

func TestOpenRejectsBadNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		opts store.Options
		want string
	}{
		{store.Options{InboundTable: "T_TTI; DROP TABLE x"}, "inbound_table"},
		{store.Options{Schema: "cti-prod"}, "schema"},
		{store.Options{Prefix: "1relay_"}, "prefix"},
		{store.Options{Prefix: strings.Repeat("p", schema.MaxPrefix+1)}, "at most 46"},
	}
	for _, tt := range tests {
		// no database needed: names are checked before connecting
		_, err := postgres.Open(context.Background(), "postgres://nobody@127.0.0.1:1/none?sslmode=disable", tt.opts)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Open(%+v) = %v, want an error naming %s", tt.opts, err, tt.want)
		}
	}
}

// The DBA views answer from a plain session too (database clock).
func TestViewsForDBAs(t *testing.T) {
	t.Parallel()
	s, dsn := migrated(t, store.Options{})
	db := rawDB(t, dsn)
	if _, err := db.Exec(`INSERT INTO T_TTI VALUES (1, '<jose><L><ON>$'), (2, 'garbage')`); err != nil {
		t.Fatal(err)
	}
	var pending, inbox, dead, outbox int
	err := db.QueryRow(`SELECT pending, inbox, dead, outbox FROM relay_queue_status`).Scan(&pending, &inbox, &dead, &outbox)
	if err != nil || pending != 2 || inbox != 0 || dead != 0 || outbox != 0 {
		t.Fatalf("relay_queue_status = %d %d %d %d, %v", pending, inbox, dead, outbox, err)
	}
	_ = s
	for _, view := range []string{"relay_agent_status", "relay_throughput"} {
		rows, err := db.Query(`SELECT * FROM ` + view)
		if err != nil {
			t.Fatalf("%s: %v", view, err)
		}
		_ = rows.Close()
	}
}

// Every step applies with the longest prefix the names allow: PostgreSQL
// shortens long table names when it names their keys, so no step may
// spell a key's name from the prefix. The inbox ends up keyed by
// (agent, id) whatever the prefix.
func TestMigrateWithALongPrefix(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	prefix := strings.Repeat("p", schema.MaxPrefix-1) + "_"
	s := open(t, dsn, store.Options{Prefix: prefix})
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate with prefix %q: %v", prefix, err)
	}
	var cols string
	err := rawDB(t, dsn).QueryRow(`SELECT string_agg(a.attname, ',' ORDER BY k.n)
		  FROM pg_constraint c
		 CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, n)
		  JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
		 WHERE c.conrelid = $1::regclass AND c.contype = 'p'`, prefix+"inbox").Scan(&cols)
	if err != nil || cols != "agent,id" {
		t.Fatalf("inbox key = %q, %v; want agent,id", cols, err)
	}
}

// With a schema configured, the version table's bootstrap creates the
// schema first: every relay table lives in it.
func TestBootstrapCreatesTheSchema(t *testing.T) {
	t.Parallel()
	o, err := store.Options{Schema: "cti"}.WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	boot := postgres.Migrations.BootstrapSQL(o.Names())
	if !strings.HasPrefix(boot, "CREATE SCHEMA IF NOT EXISTS cti;\n") || !strings.Contains(boot, "cti.relay_schema_migrations") {
		t.Fatalf("postgres bootstrap = %q", boot)
	}
	o, _ = store.Options{}.WithDefaults()
	if boot := postgres.Migrations.BootstrapSQL(o.Names()); strings.Contains(boot, "SCHEMA") {
		t.Fatalf("bootstrap without a schema = %q", boot)
	}
}
