// Package schema holds what is true of the relay's tables whatever the SQL
// dialect: their configurable names (Tables) and how {{placeholders}} in SQL
// text become those names (Render), and the migrator that applies a
// dialect's numbered steps in order, each in its own transaction, recording
// each step in {{migrations}} so it runs once. It imports nothing of the
// project: each dialect (store/<dialect>) supplies its steps and its version
// table SQL as a Dialect.
package schema

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"time"
)

// Dialect is what the migrator needs of one SQL dialect: its steps, how to
// create and read its version table, and how to keep two migrators apart.
type Dialect struct {
	Name string // as reported in errors: "sqlite", "postgres"
	// FS holds the steps, NNNN_name.sql at its root; other files
	// (a README) are ignored. A step that has shipped is never edited.
	FS fs.FS
	// Bootstrap returns the SQL that creates {{migrations}} (and whatever
	// it lives in, such as a configured schema) when absent.
	Bootstrap func(names map[string]string) string
	Exists    string // one bool-ish row: does {{migrations}} exist; arg: its name
	IsApplied string // count of rows for a version; arg: version
	Record    string // inserts (version, name, applied_at)
	Stamp     func(time.Time) any
	// Lock serialises migrators across processes for the whole run; nil when
	// each step's transaction is enough (SQLite has a single writer).
	Lock func(ctx context.Context, c *sql.Conn) (unlock func() error, err error)
}

// Migration is one schema step of one dialect.
type Migration struct {
	Version int    // from the file name: 0001_init.sql is 1
	Name    string // from the file name: 0001_init.sql is "init"
	File    string // the file name, e.g. "0001_init.sql"
	SQL     string // the step with {{placeholders}} for table names
}

// stepFile is the only shape of file that is a migration; anything else in a
// dialect's directory (a README) is ignored.
var stepFile = regexp.MustCompile(`^([0-9]{4})_([a-z0-9_]+)\.sql$`)

// Steps returns the dialect's steps in version order.
func (d Dialect) Steps() ([]Migration, error) {
	if d.FS == nil {
		return nil, fmt.Errorf("%s: no migrations", d.Name)
	}
	entries, err := fs.ReadDir(d.FS, ".")
	if err != nil {
		return nil, fmt.Errorf("read %s migrations: %w", d.Name, err)
	}
	var out []Migration
	seen := map[int]string{}
	for _, e := range entries {
		m := stepFile.FindStringSubmatch(e.Name())
		if e.IsDir() || m == nil {
			continue
		}
		v, _ := strconv.Atoi(m[1]) // four digits: cannot fail
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("%s migrations %s and %s share version %d", d.Name, prev, e.Name(), v)
		}
		seen[v] = e.Name()
		body, err := fs.ReadFile(d.FS, e.Name())
		if err != nil {
			return nil, fmt.Errorf("read migration %s/%s: %w", d.Name, e.Name(), err)
		}
		out = append(out, Migration{Version: v, Name: m[2], File: e.Name(), SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Rendered returns the step's SQL with the configured table names, as it
// will run; `ctirelay migrate --print` shows it for review.
func (m Migration) Rendered(names map[string]string) string {
	return Render(m.SQL, names)
}

// BootstrapSQL returns the SQL that creates the version table before the
// first step, so a printed plan shows everything that will run.
func (d Dialect) BootstrapSQL(names map[string]string) string {
	return d.Bootstrap(names)
}
