package postgres_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/ctirelay/ctirelay/internal/pgtest"
	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
	"github.com/ctirelay/ctirelay/store/postgres"
	"github.com/ctirelay/ctirelay/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// open opens a store on dsn and closes it when the test ends.
func open(t testing.TB, dsn string, opts store.Options) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), dsn, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// migrated opens a store on a fresh database and migrates it.
func migrated(t testing.TB, opts store.Options) (*postgres.Store, string) {
	t.Helper()
	dsn := pgtest.DSN(t)
	s := open(t, dsn, opts)
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s, dsn
}

func rawDB(t testing.TB, dsn string) *sql.DB { return pgtest.Open(t, dsn) }

func harness(t *testing.T, opts store.Options) storetest.Harness {
	s, dsn := migrated(t, opts)
	o, err := opts.WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	return storetest.Harness{
		Dialect: "postgres",
		Store:   s,
		Open: func(t *testing.T) relay.Store {
			return open(t, dsn, opts)
		},
		DB: rawDB(t, dsn),
		KillLocks: func(t *testing.T) {
			// each test has a database of its own: only its relays' locks
			if _, err := rawDB(t, dsn).Exec(`SELECT pg_terminate_backend(pid) FROM pg_locks
				WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
				AND objsubid = 2`); err != nil {
				t.Fatal(err)
			}
		},
		Rebind: func(q string) string { return sqlx.Rebind(sqlx.DOLLAR, q) },
		Names:  o.Names(),
		Micros: func(col string) string {
			return "(extract(epoch FROM " + col + ") * 1000000)::bigint"
		},
	}
}

func TestStoreSuite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Harness { return harness(t, store.Options{}) })
}

// TestStoreSuiteInSchema runs the suite with every name configured: a schema
// of its own and other table names and prefix.
func TestStoreSuiteInSchema(t *testing.T) {
	opts := store.Options{Schema: "cti", InboundTable: "ERP_IN", OutboundTable: "ERP_OUT", Prefix: "ctr_"}
	storetest.Run(t, func(t *testing.T) storetest.Harness { return harness(t, opts) })
}
