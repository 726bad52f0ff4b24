package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) { Main(m) }

func TestDSNGivesIsolatedDatabasesDroppedAtCleanup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var names [2]string
	t.Run("use", func(t *testing.T) {
		a, b := DSN(t), DSN(t)
		if a == b {
			t.Fatalf("two DSN calls gave the same database %s", a)
		}
		for _, dsn := range []string{a, b} {
			if !strings.HasPrefix(dsn, "postgres://") || !strings.Contains(dsn, "sslmode=disable") {
				t.Fatalf("DSN %q is not a lib/pq URL with sslmode=disable", dsn)
			}
		}
		dba, dbb := Open(t, a), Open(t, b)
		if _, err := dba.ExecContext(ctx, "CREATE TABLE only_in_a (x int)"); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := dbb.QueryRowContext(ctx, "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatalf("table of one test database visible in the other")
		}
		for i, db := range []*sql.DB{dba, dbb} {
			if err := db.QueryRowContext(ctx, "SELECT current_database()").Scan(&names[i]); err != nil {
				t.Fatal(err)
			}
		}
	})
	// The subtest's cleanups have run: both databases must be gone.
	c := Shared(t)
	for _, name := range names {
		var n int
		if err := c.admin.QueryRowContext(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if name == "" || n != 0 {
			t.Fatalf("database %q still exists after its test ended (count %d)", name, n)
		}
	}
}

func TestServerSettings(t *testing.T) {
	t.Parallel()
	if Shared(t).bin == "" {
		t.Skip("external server: its settings are not ours")
	}
	db := Open(t, DSN(t))
	tests := []struct{ name, want string }{
		{"fsync", "on"},
		{"listen_addresses", "127.0.0.1"},
		{"server_encoding", "UTF8"},
	}
	for _, tt := range tests {
		var got string
		if err := db.QueryRow("SELECT current_setting($1)", tt.name).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("%s = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestStopStartRestart uses a private cluster: stopping the shared one would
// break the other tests.
func TestStopStartRestart(t *testing.T) {
	t.Parallel()
	c := New(t)
	db := Open(t, c.DSN(t))
	ping := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var one int
		return db.QueryRowContext(ctx, "SELECT 1").Scan(&one)
	}
	if err := ping(); err != nil {
		t.Fatalf("before stop: %v", err)
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := ping(); err == nil {
		t.Fatal("query succeeded while the server was stopped")
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	if err := eventually(ping); err != nil {
		t.Fatalf("after start: %v", err)
	}
	if err := c.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := eventually(ping); err != nil {
		t.Fatalf("after restart: %v", err)
	}
}

// eventually retries f a few times: the first query after a restart may meet
// a pooled connection the server closed, which database/sql then discards.
func eventually(f func() error) error {
	var err error
	for range 5 {
		if err = f(); err == nil {
			return nil
		}
	}
	return err
}

func TestExternalServerCannotBeStopped(t *testing.T) {
	t.Parallel()
	c := &Cluster{}
	for name, f := range map[string]func() error{"stop": c.Stop, "start": c.Start, "restart": c.Restart} {
		if err := f(); !errors.Is(err, ErrExternal) {
			t.Errorf("%s on an external server: %v, want ErrExternal", name, err)
		}
	}
}

func TestVersionLess(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want bool
	}{
		{"9.6", "13", true},
		{"13", "9.6", false},
		{"15", "17", true},
		{"17", "15", false},
		{"16", "16", false},
		{"10", "9", false},
	}
	for _, tt := range tests {
		if got := versionLess(tt.a, tt.b); got != tt.want {
			t.Errorf("versionLess(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

// recorder stands in for a test to see whether unavailable skips or fails.
type recorder struct {
	testing.TB
	skipped, fatal string
}

func (r *recorder) Helper()                      {}
func (r *recorder) Skip(args ...any)             { r.skipped = fmt.Sprint(args...) }
func (r *recorder) Fatal(args ...any)            { r.fatal = fmt.Sprint(args...) }
func (r *recorder) Fatalf(f string, args ...any) { r.fatal = fmt.Sprintf(f, args...) }

func TestUnavailable(t *testing.T) {
	// Not parallel: it sets environment variables.
	msg := "PostgreSQL tests skipped: no initdb found on PATH or in /usr/lib/postgresql/*/bin"
	tests := []struct {
		name        string
		require     string
		err         error
		skip, fatal string
	}{
		{"no binaries skips", "", errNoBinaries, msg, ""},
		{"no binaries fails when required", "1", errNoBinaries, "", msg},
		{"other errors always fail", "", errors.New("initdb: boom"), "", "initdb: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(EnvRequire, tt.require)
			r := &recorder{TB: t}
			unavailable(r, tt.err)
			if r.skipped != tt.skip || r.fatal != tt.fatal {
				t.Errorf("skipped %q, fatal %q; want skipped %q, fatal %q", r.skipped, r.fatal, tt.skip, tt.fatal)
			}
		})
	}
}
