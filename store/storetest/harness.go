// Package storetest is the one behaviour suite every relay store must pass:
// the SQL dialects and the in-memory fake alike. It defines the semantics of
// relay.Store: a dialect's test opens a fresh, migrated, empty store per
// subtest and calls Run.
package storetest

import (
	"database/sql"
	"testing"

	"github.com/ctirelay/ctirelay/relay"
)

// Harness is one fresh, migrated, empty store and access to its tables, as
// the ERP and a DBA have it.
type Harness struct {
	Dialect string // "sqlite", "postgres", "memstore" ...

	Store relay.Store

	// Open returns another handle on the same database, as a second relay
	// would have it, or is nil when the dialect allows one handle only. The
	// harness closes what it returns when the test ends.
	Open func(t *testing.T) relay.Store

	// Tables is the ERP's and a DBA's side of the store: T_TTI rows in,
	// T_TTO rows out, the relay's tables read as they are. Nil for a SQL
	// dialect: the suite builds it from DB, Rebind, Names and Micros.
	Tables Tables

	// DB is a raw connection pool to the same database, used the way the ERP
	// uses it (INSERT INTO T_TTI, SELECT/DELETE T_TTO) and to read the relay's
	// tables; nil for a store without SQL, which skips the few SQL-only
	// cases. The harness closes it.
	DB *sql.DB
	// Rebind turns '?' placeholders into the dialect's; nil leaves them.
	Rebind func(query string) string
	// Names are the table names the store was opened with
	// (store.Options.Names()); the suite writes {{tti}}, {{inbox}} ...
	Names map[string]string
	// Micros returns an SQL expression giving a time column as microseconds
	// since the Unix epoch (NULL stays NULL); nil when columns already are.
	Micros func(column string) string

	// KillLocks ends the database sessions that hold the relay's named
	// locks (relay.Locker), as a relay killed or cut off would; nil when
	// closing the holding store is the same thing.
	KillLocks func(t *testing.T)

	// InvalidUTF8 says text columns can hold bytes that are not UTF-8
	// (SQLite can; PostgreSQL refuses them).
	InvalidUTF8 bool

	// InsertKeepingID is the statement that inserts a T_TTI row keeping
	// the IS_TTI it has (parameters IS_TTI, DS_TTI) where the dialect needs
	// more than INSERT INTO {{tti}} VALUES (?, ?) (SQL Server's
	// IDENTITY_INSERT).
	InsertKeepingID string
}

type testCase struct {
	name string
	run  func(t *testing.T, e *env)
}

// cases are registered by the files of this package, one concern per file.
var cases []testCase

func register(name string, run func(t *testing.T, e *env)) {
	cases = append(cases, testCase{name, run})
}

// Run runs every case as a parallel subtest, each on its own harness.
func Run(t *testing.T, newHarness func(t *testing.T) Harness) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			if h.Tables == nil {
				if h.DB == nil {
					t.Fatal("harness has neither Tables nor DB")
				}
				h.Tables = SQLTables(h)
			}
			c.run(t, &env{Harness: h})
		})
	}
}
