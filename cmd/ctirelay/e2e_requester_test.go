package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
)

// TestE2ESocketRequesterGone is issue 10 §3 from the binary: x's logon is
// slow at the switch, y's dial for the same agent waits behind it; SIGTERM.
// Both clients are answered ERR SHUTDOWN before their connections close,
// and after the restart the dial is dead-lettered as requester-gone, never
// sent to the switch: no one is left to read its reply.
func TestE2ESocketRequesterGone(t *testing.T) {
	t.Parallel()
	simAddr, sockAddr := freeAddr(t), freeAddr(t)
	startSimServer(t, simAddr, "--think-time", "2s")
	dir := t.TempDir()
	cfg := writeFile(t, filepath.Join(dir, "ctirelay.yaml"), fmt.Sprintf(`
switch:
  driver: tactium
  tactium:
    address: %s
    reply_timeout: 10s
engine:
  shutdown_timeout: 300ms
  backoff_base: 100ms
  backoff_max: 500ms
bridges:
  socket:
    listen: %s
    poll_interval: 10ms
log:
  level: debug
  format: json
`, simAddr, sockAddr))
	relayProc := startRelay(t, dir, "--config", cfg, "--socket-listen", sockAddr)
	db := relayDB(t, dir)

	x, y := dialSocket(t, sockAddr), dialSocket(t, sockAddr)
	x.Send("<so4><L><ON>$")
	wait.Within(t, 20*time.Second, "the logon at the switch", func() bool { return len(relayProc.dispatches()) == 1 })
	y.Send("<so4><A><85><40050777><>$")
	wait.Within(t, 20*time.Second, "the dial queued", func() bool { return count(t, db, "SELECT count(*) FROM relay_inbox") == 2 })
	relayProc.stop()
	for name, c := range map[string]interface{ ExpectClosed() []string }{"x": x, "y": y} {
		if got := c.ExpectClosed(); len(got) != 1 || !strings.HasPrefix(got[0], "<so4><ERR><SHUTDOWN>") {
			t.Fatalf("%s read %q before the close, want ERR SHUTDOWN", name, got)
		}
	}

	relayProc = startRelay(t, dir, "--config", cfg, "--socket-listen", sockAddr)
	wait.Within(t, 30*time.Second, "the inbox emptied", func() bool { return count(t, db, "SELECT count(*) FROM relay_inbox") == 0 })
	dead := column(t, db, "SELECT frame || ' ' || code || ' ' || reason FROM relay_dead")
	if len(dead) != 1 || !strings.HasPrefix(dead[0], "<so4><A><85><40050777><>$ REQUESTER_GONE requester-gone: relay stopped") {
		t.Fatalf("relay_dead = %q, want the dial as requester-gone", dead)
	}
	for _, d := range relayProc.dispatches() {
		if d.Verb == "A" {
			t.Fatalf("the restarted relay sent the dial: %+v", d)
		}
	}
	if n := count(t, db, "SELECT count(*) FROM relay_journal WHERE kind = 'reply' AND frame LIKE '<so4><ERR><REQUESTER_GONE>%'"); n != 1 {
		t.Fatalf("%d REQUESTER_GONE replies in the journal, want 1", n)
	}
	if n := count(t, db, "SELECT count(*) FROM relay_journal WHERE kind = 'event' AND frame LIKE '<so4><A>%'"); n != 0 {
		t.Fatalf("the switch dialled: %d A events in the journal", n)
	}
	stdout, _, code := ctl(t, dir, "dead", "list", "--config", cfg)
	if code != 0 || !strings.Contains(stdout, "requester-gone") {
		t.Fatalf("dead list (exit %d):\n%s", code, stdout)
	}
	relayProc.stop()
}
