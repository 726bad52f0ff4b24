package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/lib/pq"
	_ "modernc.org/sqlite"

	"github.com/ctirelay/ctirelay/internal/pgtest"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
)

var binary struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := pgtest.Run(m)
	if binary.dir != "" {
		os.RemoveAll(binary.dir)
	}
	os.Exit(code)
}

// ctirelayBinary builds the real binary once per test run.
func ctirelayBinary(t *testing.T) string {
	t.Helper()
	binary.once.Do(func() {
		binary.dir, binary.err = os.MkdirTemp("", "ctirelay-e2e-")
		if binary.err != nil {
			return
		}
		binary.path = filepath.Join(binary.dir, "ctirelay")
		out, err := exec.Command("go", "build", "-o", binary.path, ".").CombinedOutput()
		if err != nil {
			binary.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return binary.path
}

// relayProc is one `ctirelay run` process.
type relayProc struct {
	t    *testing.T
	cmd  *exec.Cmd
	log  string // stderr file
	done chan error
}

// startRelay runs `ctirelay run args…` in dir and waits until it says it runs.
// The socket and HTTP bridges listen on ports of their own choosing unless args say
// where: relays of tests running in parallel must not fight over the
// default port.
func startRelay(t *testing.T, dir string, args ...string) *relayProc {
	t.Helper()
	if !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--socket-listen") }) {
		args = append(args, "--socket-listen", "127.0.0.1:0")
	}
	if !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--http-listen") }) {
		args = append(args, "--http-listen", "127.0.0.1:0")
	}
	logPath := filepath.Join(t.TempDir(), "relay.log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(ctirelayBinary(t), append([]string{"run"}, args...)...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), "CTIRELAY_DB=")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &relayProc{t: t, cmd: cmd, log: logPath, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait(); f.Close() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	wait.Within(t, 30*time.Second, "the relay to start", func() bool {
		select {
		case err := <-p.done:
			t.Fatalf("relay exited at start (%v):\n%s", err, p.logText())
		default:
		}
		return strings.Contains(p.logText(), "ctirelay running")
	})
	return p
}

func (p *relayProc) logText() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// stop sends SIGTERM and waits for a clean exit.
func (p *relayProc) stop() {
	p.t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			p.t.Fatalf("relay exited with %v after SIGTERM:\n%s", err, p.logText())
		}
	case <-time.After(30 * time.Second):
		p.t.Fatalf("relay did not stop on SIGTERM:\n%s", p.logText())
	}
}

// kill is kill -9.
func (p *relayProc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// dispatches returns the inbox ids and verbs this relay logged as sent to the
// switch (log.level debug, format json).
func (p *relayProc) dispatches() []dispatchLine {
	var out []dispatchLine
	sc := bufio.NewScanner(strings.NewReader(p.logText()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var d dispatchLine
		if json.Unmarshal(sc.Bytes(), &d) == nil && d.Msg == "dispatch" {
			out = append(out, d)
		}
	}
	return out
}

type dispatchLine struct {
	Msg     string `json:"msg"`
	InboxID int64  `json:"inbox_id"`
	Agent   string `json:"agent"`
	Verb    string `json:"verb"`
}

// ctl runs a short ctirelay subcommand and returns its output and exit code.
func ctl(t *testing.T, dir string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, ctirelayBinary(t), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CTIRELAY_DB=")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if x, ok := err.(*exec.ExitError); ok {
		return o.String(), e.String(), x.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), 0
}

// column reads one text column of every row.
func column(t *testing.T, db *sql.DB, query string, args ...any) []string {
	t.Helper()
	rows, err := db.Query(query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func count(t *testing.T, db *sql.DB, query string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(query).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func writeFile(t *testing.T, path, body string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// relayDB opens, as the ERP does, the SQLite database of a relay run in dir
// (the default ./ctirelay.db); it is closed when the test ends.
func relayDB(t *testing.T, dir string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "ctirelay.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// insertTTI inserts frames into a SQLite T_TTI, a row each, in order.
func insertTTI(t *testing.T, db *sql.DB, frames ...string) {
	t.Helper()
	for _, f := range frames {
		if _, err := db.Exec(`INSERT INTO T_TTI (DS_TTI) VALUES (?)`, f); err != nil {
			t.Fatal(err)
		}
	}
}

// outbound is T_TTO's text in IS_TTO order.
func outbound(t *testing.T, db *sql.DB) []string {
	t.Helper()
	return column(t, db, "SELECT DS_TTO FROM T_TTO ORDER BY IS_TTO")
}

// listening says whether something accepts TCP connections on addr, for
// wait.Within.
func listening(addr string) func() bool {
	return func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	}
}
