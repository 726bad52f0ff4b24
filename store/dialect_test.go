package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ctirelay/ctirelay/store"
	_ "github.com/ctirelay/ctirelay/store/postgres"
	_ "github.com/ctirelay/ctirelay/store/sqlite"
	"github.com/ctirelay/ctirelay/store/sqlserver"
)

func TestParseDSN(t *testing.T) {
	t.Parallel()
	cases := []struct{ dsn, dialect, target, err string }{
		{"sqlite:ctirelay.db", "sqlite", "ctirelay.db", ""},
		{"sqlite:///var/lib/ctirelay/q.db", "sqlite", "/var/lib/ctirelay/q.db", ""},
		{"postgres://u:p@h/db", "postgres", "postgres://u:p@h/db", ""},
		{"postgresql://h/db", "postgres", "postgresql://h/db", ""},
		{"sqlserver://h?database=erp", "sqlserver", "sqlserver://h?database=erp", ""},
		{"sqlite:", "", "", "names no file"},
		{"mysql://u:secret@h/db", "", "", `"mysql://u:***@h/db": unknown kind`},
	}
	for _, c := range cases {
		d, tgt, err := store.ParseDSN(c.dsn)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("store.ParseDSN(%q) error = %v, want %q", c.dsn, err, c.err)
			}
			continue
		}
		if err != nil || d != c.dialect || tgt != c.target {
			t.Errorf("store.ParseDSN(%q) = %q, %q, %v", c.dsn, d, tgt, err)
		}
	}
}

// A sqlserver:// DSN reaches the driver: with no server listening, the
// error names the host, hides the password and says the database is
// unavailable (port 1 on the loopback refuses at once, no network needed).
func TestOpenSQLServerReachesTheDriver(t *testing.T) {
	t.Parallel()
	_, _, err := store.Open(context.Background(), "sqlserver://u:secret@127.0.0.1:1?database=erp&dial+timeout=5", store.Options{}, false)
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1") || !sqlserver.IsUnavailable(err) {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Fatalf("the error shows the password: %v", err)
	}
}

// Every registered dialect has what the commands and the bench use, and
// steps numbered from 1 without gaps.
func TestRegisteredDialects(t *testing.T) {
	t.Parallel()
	var names []string
	for _, d := range store.Dialects() {
		names = append(names, d.Name)
		if d.Open == nil || d.Migrations.Bootstrap == nil || d.Bench.Open == nil || d.Bench.Floor == nil {
			t.Errorf("%s: incomplete registration %+v", d.Name, d)
		}
		if d.Migrations.Name != d.Name {
			t.Errorf("%s: migrations of %q", d.Name, d.Migrations.Name)
		}
		steps, err := d.Migrations.Steps()
		if err != nil || len(steps) == 0 {
			t.Fatalf("%s: steps %v, %v", d.Name, steps, err)
		}
		for i, m := range steps {
			if m.Version != i+1 || m.SQL == "" {
				t.Errorf("%s: step %d is %+v", d.Name, i+1, m)
			}
		}
		if l, err := store.Lookup(d.Name); err != nil || l.Name != d.Name {
			t.Errorf("Lookup(%q) = %v, %v", d.Name, l.Name, err)
		}
	}
	if strings.Join(names, " ") != "postgres sqlite sqlserver" {
		t.Fatalf("dialects = %v", names)
	}
}

func TestRegisterRefusesATakenScheme(t *testing.T) {
	t.Parallel()
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "sqlite") {
			t.Fatalf("recover() = %v, want a panic naming sqlite", r)
		}
	}()
	store.Register(store.Dialect{Name: "other", Schemes: []string{"sqlite:"}, Open: func(context.Context, string, store.Options, bool) (store.DB, error) { return nil, nil }})
}

func TestRedact(t *testing.T) {
	t.Parallel()
	for dsn, want := range map[string]string{
		"postgres://u:secret@h/db": "postgres://u:***@h/db",
		"postgres://u@h/db":        "postgres://u@h/db",
		"sqlite:a@b.db":            "sqlite:a@b.db",
	} {
		if got := store.Redact(dsn); got != want {
			t.Errorf("Redact(%q) = %q, want %q", dsn, got, want)
		}
	}
}

// A server dialect's registration: its usage is its first scheme, and a
// failed Open is a nil DB (OpenAs), not one holding a nil store.
func TestServerDialect(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	d := store.Server{
		Schemes: []string{"fake://"},
		Open:    store.OpenAs(func(context.Context, string, store.Options) (*fakeDB, error) { return nil, boom }),
	}.Dialect()
	db, err := d.Open(context.Background(), "fake://x", store.Options{}, true)
	if !errors.Is(err, boom) || db != nil {
		t.Fatalf("Open = %v, %v; want nil, boom", db, err)
	}
	if d.Bench.Open == nil || len(d.Schemes) != 1 {
		t.Fatalf("dialect %+v", d)
	}
}

// fakeDB is a store.DB that is never opened.
type fakeDB struct{ store.DB }
