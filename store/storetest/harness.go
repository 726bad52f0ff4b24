// Package storetest is the one behaviour suite every SQL dialect of the relay
// store must pass. It defines the semantics of relay.Store and relay.Admin:
// a dialect's test opens a fresh, migrated, empty database per subtest and
// calls Run.
package storetest

import (
	"database/sql"
	"testing"

	"github.com/ctirelay/ctirelay/relay"
)

// Harness is one fresh, migrated, empty store and raw access to its database,
// as the ERP and a DBA have it.
type Harness struct {
	Dialect string // "sqlite", "postgres" ...

	Store relay.Store
	Admin relay.Admin

	// Open returns another handle on the same database, as a second relay
	// would have it, or is nil when the dialect allows one handle only. The
	// harness closes what it returns when the test ends.
	Open func(t *testing.T) (relay.Store, relay.Admin)

	// DB is a raw connection pool to the same database, used the way the ERP
	// uses it (INSERT INTO T_TTI, SELECT/DELETE T_TTO) and to read the relay's
	// tables. The harness closes it.
	DB *sql.DB
	// Rebind turns '?' placeholders into the dialect's; nil leaves them.
	Rebind func(query string) string
	// Names are the table names the store was opened with
	// (store.Options.Names()); the suite writes {{tti}}, {{inbox}} ...
	Names map[string]string
	// Micros returns an SQL expression giving a time column as microseconds
	// since the Unix epoch (NULL stays NULL); nil when columns already are.
	Micros func(column string) string

	// InvalidUTF8 says text columns can hold bytes that are not UTF-8
	// (SQLite can; PostgreSQL refuses them).
	InvalidUTF8 bool
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
			c.run(t, &env{Harness: h})
		})
	}
}
