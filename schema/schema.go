// Package schema holds the embedded migrations of every SQL dialect and the
// migrator that applies them in order, each in its own transaction, recording
// each step in {{migrations}} so it runs once.
package schema

import (
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"

	"github.com/ctirelay/ctirelay/store"
)

// Dialect names, as passed to Migrations, Pending and Apply.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

//go:embed sqlite postgres
var files embed.FS

// Migration is one schema step of one dialect.
type Migration struct {
	Version int    // from the file name: 0001_init.sql is 1
	Name    string // from the file name: 0001_init.sql is "init"
	File    string // the file name, e.g. "0001_init.sql"
	SQL     string // the step with {{placeholders}} for table names
}

// stepFile is the only shape of file that is a migration; anything else in a
// dialect directory (a README) is ignored.
var stepFile = regexp.MustCompile(`^([0-9]{4})_([a-z0-9_]+)\.sql$`)

// Migrations returns the steps of a dialect in version order.
func Migrations(dialect string) ([]Migration, error) {
	if _, err := lookup(dialect); err != nil {
		return nil, err
	}
	entries, err := fs.ReadDir(files, dialect)
	if err != nil {
		return nil, fmt.Errorf("read %s migrations: %w", dialect, err)
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
			return nil, fmt.Errorf("%s migrations %s and %s share version %d", dialect, prev, e.Name(), v)
		}
		seen[v] = e.Name()
		body, err := files.ReadFile(dialect + "/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("read migration %s/%s: %w", dialect, e.Name(), err)
		}
		out = append(out, Migration{Version: v, Name: m[2], File: e.Name(), SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Render returns the step's SQL with the configured table names, as it will
// run; `ctirelay migrate --print` shows it for review.
func Render(m Migration, names map[string]string) string {
	return store.Render(m.SQL, names)
}

// Bootstrap returns the SQL that creates the version table before the first
// step, so a printed plan shows everything that will run.
func Bootstrap(dialect string, names map[string]string) (string, error) {
	d, err := lookup(dialect)
	if err != nil {
		return "", err
	}
	return d.bootstrapSQL(names), nil
}
