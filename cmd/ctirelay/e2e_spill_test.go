package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/internal/pgtest"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
)

// The database stops under a relay whose switch keeps sending events: SIGTERM
// still ends the relay within its bound (shutdown_timeout + shutdown_grace +
// 7s), the events it could not write are in its spill file, and once the
// database and the relay are back they are in T_TTO and the journal, in
// order, once, and the file is gone.
func TestE2EPostgresDatabaseStopsUnderARelayHoldingEvents(t *testing.T) {
	t.Parallel()
	cluster := pgtest.New(t)
	dsn := cluster.DSN(t)
	dir := t.TempDir()
	spillDir := filepath.Join(dir, "spill")
	config := func(inbound int) string {
		return writeFile(t, filepath.Join(dir, fmt.Sprintf("ctirelay-%d.yaml", inbound)), fmt.Sprintf(`
engine:
  poll_interval: 20ms
  lease: 2s
  shutdown_timeout: 2s
  shutdown_grace: 2s
  spill_dir: %s
log:
  level: debug
  format: json
switch:
  sim:
    inbound_per_minute: %d
    talk_time: 150ms
    wrap_up: 50ms
`, spillDir, inbound))
	}
	busy, quiet := config(1200), config(0)
	if out, errOut, code := ctl(t, dir, "migrate", "--db", dsn, "--config", busy); code != 0 {
		t.Fatalf("migrate: %d %s %s", code, out, errOut)
	}
	db := pgtest.Open(t, dsn)
	if _, err := db.Exec(`INSERT INTO T_TTI (DS_TTI) VALUES ('<jose><L><ON>$')`); err != nil {
		t.Fatal(err)
	}
	r := startRelay(t, dir, "--db", dsn, "--config", busy, "--node", "r1")
	events := func() int { return count(t, db, "SELECT count(*) FROM relay_journal WHERE kind = 'event'") }
	wait.Within(t, 30*time.Second, "jose logged on and taking calls", func() bool { return events() >= 3 })

	if err := cluster.Stop(); err != nil {
		t.Fatal(err)
	}
	wait.Within(t, 30*time.Second, "the writer failing to publish events", func() bool {
		return strings.Contains(r.logText(), `"msg":"publish events"`)
	})
	bound := 2*time.Second + 2*time.Second + time.Second + afterEngine
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	signalled := time.Now()
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatalf("relay exited with %v after SIGTERM:\n%s", err, r.logText())
		}
		t.Logf("relay exited %s after SIGTERM (bound %s)", time.Since(signalled).Round(time.Millisecond), bound)
	case <-time.After(bound + 5*time.Second): // the bound, and slack for a loaded machine
		t.Fatalf("relay still running %s after SIGTERM with the database down:\n%s", bound+5*time.Second, r.logText())
	}
	files, err := filepath.Glob(filepath.Join(spillDir, "ctirelay-spill-*.json"))
	if err != nil || len(files) != 1 {
		t.Fatalf("spill files %q (%v), want one:\n%s", files, err, r.logText())
	}
	var spill struct {
		ID     string   `json:"id"`
		Events []string `json:"events"`
	}
	data, err := os.ReadFile(files[0])
	if err == nil {
		err = json.Unmarshal(data, &spill)
	}
	if err != nil || len(spill.Events) == 0 {
		t.Fatalf("spill file %s: %v, %q", files[0], err, data)
	}
	t.Logf("%d events spilled", len(spill.Events))

	if err := cluster.Start(); err != nil {
		t.Fatal(err)
	}
	before := column(t, db, "SELECT frame FROM relay_journal WHERE kind = 'event' ORDER BY id")
	ttoBefore := count(t, db, "SELECT count(*) FROM T_TTO")
	// jose is logged off in the new run's switch: no new events come.
	r2 := startRelay(t, dir, "--db", dsn, "--config", quiet, "--node", "r1")
	if _, err := os.Stat(files[0]); !os.IsNotExist(err) {
		t.Fatalf("spill file still there after the start: %v", err)
	}
	after := column(t, db, "SELECT frame FROM relay_journal WHERE kind = 'event' ORDER BY id")
	if got := after[len(before):]; !slices.Equal(got, spill.Events) {
		t.Fatalf("journal events after the restart = %q, want the spilled %q", got, spill.Events)
	}
	tto := column(t, db, "SELECT DS_TTO FROM T_TTO ORDER BY IS_TTO")
	if got := tto[ttoBefore:]; !slices.Equal(got, spill.Events) {
		t.Fatalf("T_TTO after the restart = %q, want the spilled %q", got, spill.Events)
	}
	if n := count(t, db, fmt.Sprintf("SELECT count(*) FROM relay_cursor WHERE name = 'spill:%s'", spill.ID)); n != 1 {
		t.Fatalf("spill %s recorded %d times in relay_cursor", spill.ID, n)
	}
	r2.stop()
}
