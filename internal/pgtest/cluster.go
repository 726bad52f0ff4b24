package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/lib/pq" // the driver the project uses for PostgreSQL
)

// Cluster is a PostgreSQL server for tests: either a throwaway one this
// package initialised in a temporary directory, or an existing server named
// by CTIRELAY_TEST_PG_DSN. Tests get fresh databases from it with DSN.
type Cluster struct {
	base  *url.URL // superuser URL; the path is replaced per database
	admin *sql.DB  // connected to the "postgres" database, for CREATE/DROP DATABASE

	// Only for throwaway clusters:
	bin  string // directory of initdb, pg_ctl, postgres
	dir  string // everything the cluster owns; removed by destroy
	port int
	own  owner

	mu        sync.Mutex // serialises Stop/Start/Restart/destroy
	destroyed bool
}

// dbSeq numbers the databases handed out by this test binary; the process id
// keeps names unique when several test binaries share one external server.
var dbSeq atomic.Int64

const startTimeout = 60 // seconds pg_ctl waits for the server

// settings are appended to postgresql.conf. fsync stays on (users run with
// it), so measured behaviour is real; shared memory is kept modest because
// several test binaries may each run a cluster on the same small machine.
const settings = `
# ctirelay test cluster
listen_addresses = '127.0.0.1'
unix_socket_directories = '%s'
shared_buffers = 32MB
max_connections = 200
log_min_messages = warning
log_min_error_statement = panic
`

// newThrowaway initialises and starts a cluster in a new temporary directory.
func newThrowaway() (*Cluster, error) {
	bin, err := findBinDir()
	if err != nil {
		return nil, err
	}
	own, err := currentOwner()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", dirPattern)
	if err != nil {
		return nil, fmt.Errorf("cluster dir: %w", err)
	}
	c := &Cluster{bin: bin, dir: dir, own: own}
	if err := c.init(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	register(c)
	if err := c.startFresh(); err != nil {
		_ = c.destroy()
		return nil, err
	}
	return c, nil
}

func (c *Cluster) dataDir() string { return filepath.Join(c.dir, "data") }
func (c *Cluster) logFile() string { return filepath.Join(c.dir, "postgres.log") }

// init runs initdb. Trust authentication is fine: the server listens on
// loopback and a socket directory only its owner can enter.
func (c *Cluster) init() error {
	if err := os.WriteFile(filepath.Join(c.dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return fmt.Errorf("cluster owner file: %w", err)
	}
	if err := c.own.chown(c.dir); err != nil {
		return fmt.Errorf("chown cluster dir: %w", err)
	}
	// --no-sync only skips initdb's own final flush: the directory is thrown
	// away after the run. The server itself keeps fsync on.
	cmd := c.own.command(filepath.Join(c.bin, "initdb"), "-D", c.dataDir(), "-U", "postgres",
		"-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w: %s", err, strings.TrimSpace(string(out)))
	}
	conf := filepath.Join(c.dataDir(), "postgresql.conf")
	f, err := os.OpenFile(conf, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("cluster config: %w", err)
	}
	_, err = fmt.Fprintf(f, settings, c.dir)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("cluster config: %w", err)
	}
	return nil
}

// startFresh picks a free port and starts the server, trying another port if
// someone took the first between the probe and the bind.
func (c *Cluster) startFresh() error {
	var err error
	for range 3 {
		if c.port, err = freePort(); err != nil {
			return err
		}
		if err = c.pgctl("start"); err == nil {
			break
		}
		if !strings.Contains(err.Error(), "could not bind") && !strings.Contains(err.Error(), "in use") {
			return err
		}
	}
	if err != nil {
		return err
	}
	c.base = &url.URL{Scheme: "postgres", User: url.User("postgres"),
		Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)), RawQuery: "sslmode=disable"}
	return c.openAdmin("postgres")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// pgctl runs pg_ctl start|stop|restart and waits for it to finish.
func (c *Cluster) pgctl(action string, extra ...string) error {
	args := []string{action, "-D", c.dataDir(), "-w", "-t", strconv.Itoa(startTimeout)}
	if action != "stop" {
		args = append(args, "-l", c.logFile(), "-o", "-p "+strconv.Itoa(c.port))
	}
	args = append(args, extra...)
	out, err := c.own.command(filepath.Join(c.bin, "pg_ctl"), args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl %s: %w: %s%s", action, err, strings.TrimSpace(string(out)), c.logTail())
	}
	return nil
}

// logTail is the end of the server log, to explain a failed start.
func (c *Cluster) logTail() string {
	b, err := os.ReadFile(c.logFile())
	if err != nil || len(b) == 0 {
		return ""
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return "\nserver log:\n" + string(b)
}

func (c *Cluster) openAdmin(name string) error {
	db, err := sql.Open("postgres", c.url(name))
	if err != nil {
		return fmt.Errorf("open admin connection: %w", err)
	}
	// No idle connections: after a Restart a pooled one would be dead, and
	// admin work (CREATE/DROP DATABASE) is rare.
	db.SetMaxIdleConns(0)
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return fmt.Errorf("connect to test server: %w", err)
	}
	c.admin = db
	return nil
}

// url is the lib/pq URL of database name on this cluster.
func (c *Cluster) url(name string) string {
	u := *c.base
	u.Path = "/" + name
	return u.String()
}

// DSN creates an empty database for the test, drops it when the test ends,
// and returns its lib/pq URL (postgres://...@host:port/t_...?sslmode=disable).
func (c *Cluster) DSN(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("t_%d_%d", os.Getpid(), dbSeq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := c.admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// FORCE ends sessions a test left open (a listener still closing).
		if _, err := c.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return c.url(name)
}

// ErrExternal is returned by Stop, Start and Restart on a server this package
// did not start (CTIRELAY_TEST_PG_DSN): it is not ours to stop.
var ErrExternal = errors.New("pgtest: the server was not started by this test binary")

// Stop shuts the server down ("fast": sessions are ended, as in a real
// maintenance restart). Databases and data survive; Start brings it back.
func (c *Cluster) Stop() error {
	if c.bin == "" {
		return ErrExternal
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pgctl("stop", "-m", "fast")
}

// Start starts a stopped server again on the same port.
func (c *Cluster) Start() error {
	if c.bin == "" {
		return ErrExternal
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pgctl("start")
}

// Restart is pg_ctl restart -m fast: every open session is ended.
func (c *Cluster) Restart() error {
	if c.bin == "" {
		return ErrExternal
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pgctl("restart", "-m", "fast")
}

// destroy stops the server at once and removes its directory. It is safe to
// call more than once.
func (c *Cluster) destroy() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.destroyed {
		return nil
	}
	c.destroyed = true
	unregister(c)
	var errs []error
	if c.admin != nil {
		errs = append(errs, c.admin.Close())
	}
	if c.bin == "" {
		return errors.Join(errs...)
	}
	if _, err := os.Stat(filepath.Join(c.dataDir(), "postmaster.pid")); err == nil {
		if err := c.pgctl("stop", "-m", "immediate"); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, os.RemoveAll(c.dir))
	return errors.Join(errs...)
}
