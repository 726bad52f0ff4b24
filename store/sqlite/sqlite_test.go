package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
	"github.com/ctirelay/ctirelay/store/sqlite"
	"github.com/ctirelay/ctirelay/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// openStore opens and migrates a store; the test closes it.
func openStore(t *testing.T, path string, opts store.Options, cfg sqlite.Config) *sqlite.Store {
	t.Helper()
	s, err := sqlite.OpenConfig(context.Background(), path, opts, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// erpHandle is a separate pool on the file, as an ERP (or the sqlite3 CLI
// with .timeout) has it: deferred transactions, a busy timeout.
func erpHandle(t *testing.T, path string, busy time.Duration) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", fmt.Sprintf("%s?_busy_timeout=%d", path, busy.Milliseconds()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestStore(t *testing.T) {
	for name, opts := range map[string]store.Options{
		"default names": {},
		"custom names":  {InboundTable: "ERP_IN", OutboundTable: "ERP_OUT", Prefix: "cti_"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			storetest.Run(t, func(t *testing.T) storetest.Harness {
				path := filepath.Join(t.TempDir(), "relay.db")
				s := openStore(t, path, opts, sqlite.Config{Exclusive: true})
				return storetest.Harness{
					Dialect: "sqlite",
					Store:   s,
					Open: func(t *testing.T) relay.Store {
						return openStore(t, path, opts, sqlite.Config{})
					},
					DB:          erpHandle(t, path, 10*time.Second),
					Names:       s.Names(),
					InvalidUTF8: true,
				}
			})
		})
	}
}

func TestExclusiveOpenRefusesASecondRelay(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "relay.db")
	first, err := sqlite.Open(ctx, path, store.Options{}, true)
	if err != nil {
		t.Fatal(err)
	}
	_, err = sqlite.Open(ctx, path, store.Options{}, true)
	want := "another ctirelay is already running on " + path + " (SQLite allows a single relay; use PostgreSQL or SQL Server to run several)"
	if err == nil || err.Error() != want || !errors.Is(err, sqlite.ErrAlreadyRunning) {
		t.Fatalf("second exclusive open: err = %v, want %q", err, want)
	}

	// send, status: non-exclusive opens work beside the relay
	tool, err := sqlite.Open(ctx, path, store.Options{}, false)
	if err != nil {
		t.Fatalf("non-exclusive open beside a relay: %v", err)
	}
	if _, err := tool.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := tool.Status(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	tool.Close()

	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	again, err := sqlite.Open(ctx, path, store.Options{}, true)
	if err != nil {
		t.Fatalf("exclusive open after the relay stopped: %v", err)
	}
	again.Close()
}

func TestMustExistCreatesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.db")
	if s, err := sqlite.Open(ctx, missing, store.Options{MustExist: true}, false); !errors.Is(err, store.ErrNoDatabase) || err.Error() != "no database at "+missing {
		if err == nil {
			s.Close()
		}
		t.Fatalf("MustExist open of a missing file: err = %v, want store.ErrNoDatabase", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("MustExist open created %s (stat: %v)", missing, err)
	}

	// An existing file keeps its journal mode: a tool never converts a
	// database that may not be the relay's.
	other := filepath.Join(dir, "other.db")
	plain, err := sql.Open("sqlite", other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.Exec("CREATE TABLE t (x INTEGER)"); err != nil {
		t.Fatal(err)
	}
	plain.Close()
	s := openStore(t, other, store.Options{MustExist: true}, sqlite.Config{})
	if got := pragma(t, s, "journal_mode"); got != "delete" {
		t.Errorf("journal_mode = %s, want delete (left as it was)", got)
	}
}

func pragma(t *testing.T, s *sqlite.Store, name string) string {
	t.Helper()
	var v string
	if err := s.DB().QueryRow("PRAGMA " + name).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestPragmasInEffect(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, c := range []struct {
		cfg               sqlite.Config
		synchronous, busy string
	}{
		{sqlite.Config{}, "2", "5000"}, // FULL: no committed message lost on power failure
		{sqlite.Config{Synchronous: "normal", BusyTimeout: 750 * time.Millisecond}, "1", "750"},
		{sqlite.Config{Synchronous: "EXTRA"}, "3", "5000"},
	} {
		s := openStore(t, filepath.Join(dir, c.synchronous+".db"), store.Options{}, c.cfg)
		if got := pragma(t, s, "journal_mode"); got != "wal" {
			t.Errorf("%+v: journal_mode = %s, want wal", c.cfg, got)
		}
		if got := pragma(t, s, "synchronous"); got != c.synchronous {
			t.Errorf("%+v: synchronous = %s, want %s", c.cfg, got, c.synchronous)
		}
		if got := pragma(t, s, "busy_timeout"); got != c.busy {
			t.Errorf("%+v: busy_timeout = %s, want %s", c.cfg, got, c.busy)
		}
		if n := s.DB().Stats().MaxOpenConnections; n != 1 {
			t.Errorf("MaxOpenConnections = %d, want 1", n)
		}
	}
}

func TestOpenRejectsBadSettings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	for _, c := range []struct {
		path string
		opts store.Options
		cfg  sqlite.Config
		want string
	}{
		{filepath.Join(dir, "a.db"), store.Options{InboundTable: "T_TTI; DROP TABLE x"}, sqlite.Config{}, "invalid inbound_table"},
		{filepath.Join(dir, "b.db"), store.Options{Prefix: "1x"}, sqlite.Config{}, "invalid prefix"},
		{filepath.Join(dir, "c.db"), store.Options{Schema: "cti"}, sqlite.Config{}, "SQLite has no schemas"},
		{filepath.Join(dir, "d.db"), store.Options{}, sqlite.Config{Synchronous: "SOMETIMES"}, "invalid synchronous"},
		{filepath.Join(dir, "e.db") + "?mode=ro", store.Options{}, sqlite.Config{}, "may not contain"},
		{"", store.Options{}, sqlite.Config{}, "empty database path"},
		{filepath.Join(dir, "missing", "dir", "f.db"), store.Options{}, sqlite.Config{}, "open"},
	} {
		s, err := sqlite.OpenConfig(ctx, c.path, c.opts, c.cfg)
		if err == nil {
			s.Close()
			t.Errorf("%q %+v %+v: no error", c.path, c.opts, c.cfg)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err = %v, want it to mention %q", c.path, err, c.want)
		}
	}
}

func TestMigrateAndPending(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "relay.db"), store.Options{}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	pending, err := s.Pending(ctx)
	if err != nil || len(pending) == 0 || pending[0].File != "0001_init.sql" {
		t.Fatalf("Pending on a new file: %+v, %v", pending, err)
	}
	applied, err := s.Migrate(ctx)
	if err != nil || len(applied) != len(pending) {
		t.Fatalf("Migrate: %+v, %v", applied, err)
	}
	if again, err := s.Migrate(ctx); err != nil || len(again) != 0 {
		t.Fatalf("second Migrate: %+v, %v", again, err)
	}
	if pending, err := s.Pending(ctx); err != nil || len(pending) != 0 {
		t.Fatalf("Pending after Migrate: %+v, %v", pending, err)
	}
}

// While the relay holds a write transaction, another writer cannot write
// at once (proved with no busy timeout) and, with a busy timeout, waits and
// then succeeds instead of failing.
func TestOtherWritersWaitForTheRelay(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "relay.db")
	s := openStore(t, path, store.Options{}, sqlite.Config{Exclusive: true})
	impatient := erpHandle(t, path, 0)
	patient := erpHandle(t, path, 30*time.Second)

	tx, err := s.DB().BeginTx(ctx, nil) // BEGIN IMMEDIATE: the write lock, as every store call takes it
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`INSERT INTO T_TTO (DS_TTO) VALUES ('<jose><OK>$')`); err != nil {
		t.Fatal(err)
	}
	_, err = impatient.Exec(`INSERT INTO T_TTI (DS_TTI) VALUES ('<jose><S>$')`)
	if err == nil || !strings.Contains(err.Error(), "SQLITE_BUSY") {
		t.Fatalf("write during the relay's transaction with no busy timeout: err = %v, want SQLITE_BUSY", err)
	}

	started, done := make(chan struct{}), make(chan error, 1)
	go func() {
		close(started)
		_, err := patient.Exec(`INSERT INTO T_TTI (DS_TTI) VALUES ('<ana><S>$')`)
		done <- err
	}()
	<-started
	// Keep the transaction busy with real work for a while (no sleeping):
	// the insert cannot finish before the commit.
	for i := 0; i < 200; i++ {
		if _, err := tx.Exec(`INSERT INTO T_TTO (DS_TTO) VALUES ('<jose><OK>$')`); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			t.Fatalf("another writer finished inside the relay's transaction: %v", err)
		default:
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("waiting writer failed: %v", err)
	}
	if n, _, err := s.Intake(ctx, relay.IntakeRequest{Limit: 10, Now: time.Now()}, relay.ClaimRequest{}); err != nil || n != 1 {
		t.Fatalf("Intake = %d, %v", n, err)
	}
}

// The ERP writes T_TTI and drains T_TTO while the relay works: no write on
// either side fails, nothing is lost or duplicated.
func TestERPAndRelayConcurrently(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "relay.db")
	s := openStore(t, path, store.Options{}, sqlite.Config{Exclusive: true})
	erp := erpHandle(t, path, 30*time.Second)
	const rows = 200

	erpErr := make(chan error, 1)
	go func() {
		for i := 0; i < rows; i++ {
			if _, err := erp.Exec(`INSERT INTO T_TTI (DS_TTI) VALUES (?)`, fmt.Sprintf("<a%d><L><ON>$", i%7)); err != nil {
				erpErr <- fmt.Errorf("insert %d: %w", i, err)
				return
			}
			if _, err := erp.Exec(`DELETE FROM T_TTO WHERE IS_TTO IN (SELECT IS_TTO FROM T_TTO ORDER BY IS_TTO LIMIT 3)`); err != nil {
				erpErr <- fmt.Errorf("drain: %w", err)
				return
			}
		}
		erpErr <- nil
	}()

	now := time.Now()
	settled := 0
	var erpDone bool
	deadline := time.Now().Add(2 * time.Minute) // a safety net against a hang
	for settled < rows {
		if time.Now().After(deadline) {
			t.Fatalf("gave up with %d of %d settled", settled, rows)
		}
		if !erpDone {
			select {
			case err := <-erpErr:
				if err != nil {
					t.Fatal(err)
				}
				erpDone = true
			default:
			}
		}
		if _, _, err := s.Intake(ctx, relay.IntakeRequest{Limit: 16, Now: now}, relay.ClaimRequest{}); err != nil {
			t.Fatal(err)
		}
		jobs, err := s.Claim(ctx, relay.ClaimRequest{Owner: "r1", Limit: 16, Now: now, LeaseUntil: now.Add(time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		outcomes := make([]relay.Outcome, len(jobs))
		for i, j := range jobs {
			outcomes[i] = relay.Outcome{Job: j, Kind: relay.Done, Replies: []relay.Frame{relay.OK(j.Agent)}}
		}
		n, _, err := s.Settle(ctx, outcomes, now, relay.ClaimRequest{})
		if err != nil || n != len(jobs) {
			t.Fatalf("Settle = %d, %v", n, err)
		}
		settled += n
		if err := s.Publish(ctx, []relay.Frame{relay.EndCall("a0")}, now); err != nil {
			t.Fatal(err)
		}
	}
	if !erpDone {
		if err := <-erpErr; err != nil {
			t.Fatal(err)
		}
	}
	var replies int
	if err := s.DB().QueryRow(`SELECT count(*) FROM relay_journal WHERE kind = 'reply'`).Scan(&replies); err != nil || replies != rows {
		t.Fatalf("%d replies journaled, %v", replies, err)
	}
}

// relay_throughput is for DBAs only (no Admin method reads it): check it here.
func TestThroughputView(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t, filepath.Join(t.TempDir(), "relay.db"), store.Options{}, sqlite.Config{})
	now := time.Now()
	if err := s.Publish(ctx, []relay.Frame{relay.EndCall("old")}, now.Add(-2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Enqueue(ctx, []relay.Inbound{
		{Source: "cli", Ref: "1", Raw: "<a><S>$"}, {Source: "cli", Ref: "2", Raw: "<b><S>$"}, {Source: "cli", Ref: "3", Raw: "<c><S>$"},
	}, now, 0); err != nil {
		t.Fatal(err)
	}
	jobs, err := s.Claim(ctx, relay.ClaimRequest{Owner: "r", Limit: 10, Now: now, LeaseUntil: now.Add(time.Minute)})
	if err != nil || len(jobs) != 3 {
		t.Fatalf("Claim: %+v, %v", jobs, err)
	}
	if _, _, err := s.Settle(ctx, []relay.Outcome{
		{Job: jobs[0], Kind: relay.Done, Replies: []relay.Frame{relay.StatusReply("a", relay.StateAvailable)}},
		{Job: jobs[1], Kind: relay.Done, Replies: []relay.Frame{relay.StatusReply("b", relay.StateBusy)}},
		{Job: jobs[2], Kind: relay.Dead, Reason: "no", Replies: []relay.Frame{relay.ErrReply("c", relay.CodeRejected, "no")}},
	}, now, relay.ClaimRequest{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Publish(ctx, []relay.Frame{relay.EndCall("a")}, now); err != nil {
		t.Fatal(err)
	}
	rows, err := s.DB().Query(`SELECT minute, commands, replies_ok, replies_err, events FROM relay_throughput`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var sum [4]int
	for rows.Next() {
		var minute string
		var c [4]int
		if err := rows.Scan(&minute, &c[0], &c[1], &c[2], &c[3]); err != nil {
			t.Fatal(err)
		}
		if _, err := time.Parse("2006-01-02 15:04", minute); err != nil {
			t.Errorf("minute %q: %v", minute, err)
		}
		for i := range c {
			sum[i] += c[i]
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if sum != [4]int{3, 2, 1, 1} {
		t.Fatalf("last hour: commands, ok, err, events = %v, want [3 2 1 1]", sum)
	}
}
