// Package pgtest gives tests of any package a PostgreSQL database.
//
// The first call to DSN starts one throwaway cluster per test binary, from the
// machine's PostgreSQL binaries (initdb, pg_ctl and postgres on PATH, or the
// newest /usr/lib/postgresql/*/bin), in a temporary directory on a free
// loopback port. Each test gets a fresh database, dropped when it ends. Use
// Main in TestMain so the cluster is stopped and removed when the tests end.
//
// Environment:
//   - CTIRELAY_TEST_PG_DSN=postgres://user:pass@host:port/db?sslmode=disable
//     uses that server instead (databases are created and dropped on it).
//   - CTIRELAY_TEST_REQUIRE_PG=1 turns "no PostgreSQL here" from a skip into
//     a failure, so CI cannot silently skip.
//
// Under root, PostgreSQL refuses to run, so the cluster runs as the
// "postgres" system user.
package pgtest

import (
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"

	"go.uber.org/goleak"
)

// Environment variables read by this package.
const (
	EnvDSN     = "CTIRELAY_TEST_PG_DSN"
	EnvRequire = "CTIRELAY_TEST_REQUIRE_PG"
)

var shared struct {
	once    sync.Once
	cluster *Cluster
	err     error
}

// DSN returns the URL of a fresh, empty database on the shared cluster,
// dropped when t ends. It skips the test when no PostgreSQL is available
// (fails instead under CTIRELAY_TEST_REQUIRE_PG=1).
func DSN(t testing.TB) string {
	t.Helper()
	return Shared(t).DSN(t)
}

// Open is a connection pool on dsn (lib/pq), as the ERP or a DBA has one,
// closed when t ends.
func Open(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// Shared returns the cluster shared by every test of this binary, starting it
// on first use.
func Shared(t testing.TB) *Cluster {
	t.Helper()
	shared.once.Do(func() {
		if dsn := os.Getenv(EnvDSN); dsn != "" {
			shared.cluster, shared.err = newExternal(dsn)
			return
		}
		sweepStale()
		shared.cluster, shared.err = newThrowaway()
	})
	if shared.err != nil {
		unavailable(t, shared.err)
	}
	return shared.cluster
}

// New starts a private throwaway cluster for a test that needs to stop or
// restart its server without disturbing others; it is removed when t ends.
// It needs local binaries even when CTIRELAY_TEST_PG_DSN is set.
func New(t testing.TB) *Cluster {
	t.Helper()
	c, err := newThrowaway()
	if err != nil {
		unavailable(t, err)
	}
	t.Cleanup(func() {
		if err := c.destroy(); err != nil {
			t.Errorf("pgtest: remove cluster: %v", err)
		}
	})
	return c
}

// unavailable skips or fails the test, as CTIRELAY_TEST_REQUIRE_PG says.
// Only a machine without binaries is a skip: any other error is a failure.
func unavailable(t testing.TB, err error) {
	t.Helper()
	if errors.Is(err, errNoBinaries) && os.Getenv(EnvRequire) != "1" {
		t.Skip(err.Error())
		return
	}
	t.Fatal(err.Error())
}

func newExternal(dsn string) (*Cluster, error) {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, fmt.Errorf("%s must be a postgres:// URL", EnvDSN)
	}
	c := &Cluster{base: u}
	adminDB := strings.TrimPrefix(u.Path, "/")
	if adminDB == "" {
		adminDB = "postgres"
	}
	if err := c.openAdmin(adminDB); err != nil {
		return nil, err
	}
	register(c)
	return c, nil
}

// Main runs the tests, then stops and removes every cluster this binary
// started and, when the tests passed, checks that no goroutine leaked
// (go.uber.org/goleak; opts are passed to it). An interrupt or SIGTERM also
// removes the clusters before the binary exits. Use it from TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
func Main(m *testing.M, opts ...goleak.Option) {
	os.Exit(run(m, opts...))
}

func run(m *testing.M, opts ...goleak.Option) int {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		select {
		case s := <-sigs:
			destroyAll()
			fmt.Fprintf(os.Stderr, "pgtest: %v: test clusters removed\n", s)
			os.Exit(2)
		case <-done:
		}
	})
	code := m.Run()
	signal.Stop(sigs)
	close(done)
	wg.Wait()
	if err := destroyAll(); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: remove test clusters: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	if code == 0 {
		if err := goleak.Find(opts...); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: errors on successful test run: %v\n", err)
			code = 1
		}
	}
	return code
}

// live holds every cluster not yet destroyed, for Main and the signal path.
var live struct {
	mu       sync.Mutex
	clusters map[*Cluster]struct{}
}

func register(c *Cluster) {
	live.mu.Lock()
	defer live.mu.Unlock()
	if live.clusters == nil {
		live.clusters = make(map[*Cluster]struct{})
	}
	live.clusters[c] = struct{}{}
}

func unregister(c *Cluster) {
	live.mu.Lock()
	defer live.mu.Unlock()
	delete(live.clusters, c)
}

func destroyAll() error {
	live.mu.Lock()
	all := make([]*Cluster, 0, len(live.clusters))
	for c := range live.clusters {
		all = append(all, c)
	}
	live.mu.Unlock()
	var errs []error
	for _, c := range all {
		errs = append(errs, c.destroy())
	}
	return errors.Join(errs...)
}
