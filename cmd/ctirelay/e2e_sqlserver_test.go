package main

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
)

// mssqlDSNEnv names a SQL Server whose login may create databases; the SQL
// Server end-to-end tests run only when it is set (docs/operations.md, SQL
// Server, says how to start one in a container).
const mssqlDSNEnv = "CTIRELAY_TEST_MSSQL_DSN"

// newMSSQLRig creates a database of its own on the server, migrated by the
// real binary, dropped when the test ends. Its checks are the PostgreSQL
// rig's, whose SQL both dialects take.
func newMSSQLRig(t *testing.T, config string) *pgRig {
	t.Helper()
	r := &pgRig{t: t, dsn: newMSSQLDatabase(t), dir: t.TempDir()}
	r.cfg = writeFile(t, filepath.Join(r.dir, "ctirelay.yaml"), config)
	if out, errOut, code := ctl(t, r.dir, "migrate", "--db", r.dsn, "--config", r.cfg); code != 0 {
		t.Fatalf("migrate: %d %s %s", code, out, errOut)
	}
	db, err := sql.Open("sqlserver", r.dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	r.db = db
	return r
}

// newMSSQLDatabase creates an empty database of the test's own on the
// server and returns its DSN; it is dropped when the test ends.
func newMSSQLDatabase(t *testing.T) string {
	t.Helper()
	base := os.Getenv(mssqlDSNEnv)
	if base == "" {
		t.Skip(mssqlDSNEnv + " is not set: no SQL Server to run against (docs/operations.md, SQL Server)")
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", mssqlDSNEnv, err)
	}
	var suffix [4]byte
	_, _ = rand.Read(suffix[:])
	name := "ctirelay_e2e_" + hex.EncodeToString(suffix[:])
	admin, err := sql.Open("sqlserver", base)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		_, _ = admin.Exec("ALTER DATABASE " + name + " SET SINGLE_USER WITH ROLLBACK IMMEDIATE")
		if _, err := admin.Exec("DROP DATABASE " + name); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
		_ = admin.Close()
	})
	q := u.Query()
	q.Set("database", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// insertAsMSSQLERPs is pgRig.insertAsERPs with T-SQL placeholders.
func insertAsMSSQLERPs(r *pgRig, writers, agents, perAgent int, frame func(agent string, k int) string) {
	r.t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			var rows []string
			for k := range perAgent {
				for a := w; a < agents; a += writers {
					rows = append(rows, frame(fmt.Sprintf("agent%03d", a), k))
				}
			}
			for len(rows) > 0 {
				batch := rows[:min(100, len(rows))]
				rows = rows[len(batch):]
				var q strings.Builder
				args := make([]any, len(batch))
				q.WriteString("INSERT INTO T_TTI (DS_TTI) VALUES ")
				for i, f := range batch {
					if i > 0 {
						q.WriteByte(',')
					}
					fmt.Fprintf(&q, "(@p%d)", i+1)
					args[i] = f
				}
				if _, err := r.db.Exec(q.String(), args...); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		r.t.Fatal(err)
	}
}

// TestE2ESQLServerThreeRelaysTenThousandCommands: 3 relay processes, 4
// concurrent writers, 10,000 commands for 100 agents, on SQL Server.
func TestE2ESQLServerThreeRelaysTenThousandCommands(t *testing.T) {
	r := newMSSQLRig(t, fmt.Sprintf(pgRelayConfig, "0s"))
	relays := r.relays(3)
	cycle := []string{"<%s><L><ON>$", "<%s><S>$", "<%s><P><ON><%d>$", "<%s><P><OFF>$"}
	insertAsMSSQLERPs(r, 4, 100, 100, func(agent string, k int) string {
		f := cycle[k%len(cycle)]
		if strings.Count(f, "%") == 2 {
			return fmt.Sprintf(f, agent, k)
		}
		return fmt.Sprintf(f, agent)
	})
	wait.Within(t, 5*time.Minute, "10,000 answers", func() bool { return r.replies() >= 10_000 })
	r.checkEveryCommandAnsweredOnceInOrder(10_000)
	if dead := count(t, r.db, "SELECT count(*) FROM relay_dead"); dead != 0 {
		t.Fatalf("%d dead letters", dead)
	}
	for i, p := range relays {
		if n := len(p.dispatches()); n == 0 {
			t.Errorf("relay %d dispatched nothing: work is not shared", i)
		}
		p.stop()
	}
}

// TestE2ESQLServerKillNineLosesNothing kills one of three relays mid-run:
// every command is still answered exactly once, in order, and no
// non-idempotent command reaches the switch twice.
func TestE2ESQLServerKillNineLosesNothing(t *testing.T) {
	r := newMSSQLRig(t, fmt.Sprintf(pgRelayConfig, "20ms"))
	relays := r.relays(3)
	cycle := []string{"<%s><L><ON>$", "<%s><A><11><9%07d><>$", "<%s><S>$", "<%s><D>$", "<%s><AC>$"}
	const agents, perAgent = 100, 30
	insertAsMSSQLERPs(r, 4, agents, perAgent, func(agent string, k int) string {
		f := cycle[k%len(cycle)]
		if strings.Count(f, "%") == 2 {
			return fmt.Sprintf(f, agent, k)
		}
		return fmt.Sprintf(f, agent)
	})
	total := agents * perAgent
	wait.Within(t, 2*time.Minute, "a fifth of the answers", func() bool { return r.replies() >= total/5 })
	wait.Within(t, time.Minute, "relay 0 holding commands", func() bool {
		return count(t, r.db, "SELECT count(*) FROM relay_inbox WHERE lease_owner LIKE 'relay-0#%' AND state = 'running'") >= 5
	})
	relays[0].kill()
	wait.Within(t, 5*time.Minute, "every answer", func() bool { return r.replies() >= total })
	r.checkEveryCommandAnsweredOnceInOrder(total)
	sent := map[int64]int{}
	for _, p := range relays {
		for _, d := range p.dispatches() {
			sent[d.InboxID]++
			switch d.Verb {
			case "A", "D", "TR", "C":
				if sent[d.InboxID] > 1 {
					t.Errorf("non-idempotent %s (inbox id %d, %s) reached the switch %d times", d.Verb, d.InboxID, d.Agent, sent[d.InboxID])
				}
			}
		}
	}
	if other := count(t, r.db, "SELECT count(*) FROM relay_dead WHERE reason NOT LIKE 'in-doubt%'"); other != 0 {
		t.Fatalf("%d dead letters for other reasons", other)
	}
	for _, p := range relays[1:] {
		p.stop()
	}
}

// TestRunSQLServerReachesTheDriver: `ctirelay run --db sqlserver://…` is
// taken by the SQL Server dialect and fails to connect, naming the host and
// not the password, when no server listens (port 1 on the loopback).
func TestRunSQLServerReachesTheDriver(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, errOut, code := ctl(t, dir, "run", "--db", "sqlserver://relay:s3cret@127.0.0.1:1?database=erp&dial+timeout=5")
	if code == 0 {
		t.Fatal("run succeeded without a server")
	}
	if !strings.Contains(errOut, "sqlserver store: connect") || !strings.Contains(errOut, "127.0.0.1") || !strings.Contains(errOut, "database unavailable") {
		t.Fatalf("stderr = %s", errOut)
	}
	if strings.Contains(errOut, "s3cret") || strings.Contains(errOut, "not supported by this build") {
		t.Fatalf("stderr = %s", errOut)
	}
}

// TestE2ESQLServerNarrowOutboundDeadLettersTheLongEvent is the PostgreSQL
// test of that name on SQL Server: an ERP's T_TTO with DS_TTO nvarchar(60)
// refuses the simulated switch's long G event (2628), which lands in
// relay_dead with the database's error while every agent is still answered;
// status, tail and dead show it.
func TestE2ESQLServerNarrowOutboundDeadLettersTheLongEvent(t *testing.T) {
	dsn, dir := newMSSQLDatabase(t), t.TempDir()
	db, err := sql.Open("sqlserver", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE T_TTO (IS_TTO bigint IDENTITY(1, 1) NOT NULL PRIMARY KEY, DS_TTO nvarchar(60) NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	cfg := writeFile(t, filepath.Join(dir, "ctirelay.yaml"), fmt.Sprintf(pgRelayConfig, "0s"))
	if out, errOut, code := ctl(t, dir, "migrate", "--db", dsn, "--config", cfg); code != 0 {
		t.Fatalf("migrate: %d %s %s", code, out, errOut)
	}
	relay := startRelay(t, dir, "--db", dsn, "--config", cfg, "--node", "relay-0")
	insert := func(frames ...string) {
		t.Helper()
		for _, f := range frames {
			if _, err := db.Exec(`INSERT INTO T_TTI (DS_TTI) VALUES (@p1)`, f); err != nil {
				t.Fatal(err)
			}
		}
	}
	insert("<jose><L><ON>$", "<maria><L><ON>$", "<jose><A><85><40050500><>$")
	var frame, reason string
	wait.Within(t, 30*time.Second, "the G event in relay_dead", func() bool {
		return db.QueryRow(`SELECT frame, reason FROM relay_dead WHERE source = 'output'`).Scan(&frame, &reason) == nil
	})
	if !strings.HasPrefix(frame, "<jose><G><") || len(frame) <= 60 {
		t.Fatalf("dead-lettered output %q", frame)
	}
	if !strings.HasPrefix(reason, "T_TTO refused the event: ") || !strings.Contains(reason, "would be truncated") {
		t.Fatalf("reason %q", reason)
	}
	insert("<maria><S>$", "<ana><L><ON>$", "<jose><S>$")
	wait.Within(t, 30*time.Second, "the answers after the refused event", func() bool {
		got := column(t, db, "SELECT DS_TTO FROM T_TTO ORDER BY IS_TTO")
		return slices.Contains(got, "<maria><S><1>$") && slices.Contains(got, "<ana><OK>$") &&
			slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, "<jose><S><") })
	})
	out, errOut, code := ctl(t, dir, "status", "--db", dsn, "--config", cfg)
	if code != 0 || !strings.Contains(out, "warning: T_TTO.DS_TTO is nvarchar(60): frames up to max_frame_bytes (") {
		t.Fatalf("status (exit %d) does not warn about the column:\n%s%s", code, out, errOut)
	}
	out, _, code = ctl(t, dir, "tail", "-f=false", "--from", "0", "--db", dsn, "--config", cfg)
	if code != 0 || !strings.Contains(out, "NOT WRITTEN: "+reason) {
		t.Fatalf("tail (exit %d) does not show the refused event:\n%s", code, out)
	}
	out, _, code = ctl(t, dir, "dead", "list", "--db", dsn, "--config", cfg)
	if code != 0 || !strings.Contains(out, "output") || !strings.Contains(out, "would be truncated") {
		t.Fatalf("dead list (exit %d):\n%s", code, out)
	}
	relay.stop()
}
