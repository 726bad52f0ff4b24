// Package schematest holds what the tests of schema and of each dialect's
// migrations share: a SQLite file opened as relays open it, and migrators
// started together.
package schematest

import (
	"database/sql"
	"sync"
	"testing"

	_ "modernc.org/sqlite" // the driver the project uses for SQLite

	"github.com/ctirelay/ctirelay/schema"
)

// OpenSQLite opens the SQLite file at path as the relay's stores do (WAL,
// immediate transactions, a busy timeout), closed when t ends.
func OpenSQLite(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_txlock=immediate&_busy_timeout=10000&_journal_mode=WAL")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	// Connected now, so the file is in WAL mode before migrators start
	// together: a new file's switch to WAL answers SQLITE_BUSY at once to
	// a concurrent connection, whatever its busy timeout.
	if err := db.Ping(); err != nil {
		t.Fatal(err)
	}
	return db
}

// ApplyConcurrently runs migrate for n migrators at once and returns how
// many steps they applied in all (each step once is the dialect's lock at
// work); an error fails t.
func ApplyConcurrently(t testing.TB, n int, migrate func(i int) ([]schema.Migration, error)) int {
	t.Helper()
	counts := make([]int, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			applied, err := migrate(i)
			counts[i], errs[i] = len(applied), err
		})
	}
	wg.Wait()
	total := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("migrator %d: %v", i, errs[i])
		}
		total += counts[i]
	}
	return total
}
