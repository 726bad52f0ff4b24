package main

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/internal/tactiumtest"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
)

// dialSocket connects to the relay's socket bridge; reads wait up to 30 s
// (the switch may be restarting).
func dialSocket(t *testing.T, addr string) *tactiumtest.Client {
	t.Helper()
	return tactiumtest.Dial(t, addr).Patient(30 * time.Second)
}

// replay sends a REPLAY and checks that the missed events arrive exactly once
// and in order. Events the relay had not yet read from the journal when the
// replay started follow the <login><REPLAY><n>$ count live, so the count
// says how many came before it.
func replay(t *testing.T, c *tactiumtest.Client, send, login string, events []string) {
	t.Helper()
	c.Send(send)
	got := c.Frames(len(events) + 1)
	at := slices.IndexFunc(got, func(s string) bool { return strings.HasPrefix(s, "<"+login+"><REPLAY><") })
	if at < 0 || got[at] != fmt.Sprintf("<%s><REPLAY><%d>$", login, at) {
		t.Fatalf("sent %q, got %q: no count matching the events before it", send, got)
	}
	if rest := slices.Delete(slices.Clone(got), at, at+1); !slices.Equal(rest, events) {
		t.Fatalf("sent %q, got events %q, want %q", send, rest, events)
	}
}

// expectClosed waits for the relay to close the connection, with nothing
// more sent first.
func expectClosed(t *testing.T, c *tactiumtest.Client) {
	t.Helper()
	if got := c.ExpectClosed(); len(got) != 0 {
		t.Fatalf("read %q, want the relay to close the connection", got)
	}
}

// TestE2ESocketBridge runs the real binary with the tactium driver pointed
// at `ctirelay sim --listen`: rows in T_TTI are answered in T_TTO, plain TCP
// clients of the relay's socket bridge see the same events and get the
// replies of their own commands, a switch restart loses nothing, and a
// client that comes (back) later is replayed what it missed, across a
// restart of the relay.
func TestE2ESocketBridge(t *testing.T) {
	t.Parallel()
	simAddr, sockAddr := freeAddr(t), freeAddr(t)
	simArgs := []string{"--ring-time", "0s", "--talk-time", "1s"}
	sw := startSimServer(t, simAddr, simArgs...)
	dir := t.TempDir()
	cfg := writeFile(t, filepath.Join(dir, "ctirelay.yaml"), tactiumRelayConfig(simAddr, fmt.Sprintf(`
bridges:
  socket:
    listen: %s
    poll_interval: 10ms
`, sockAddr)))
	relayProc := startRelay(t, dir, "--config", cfg, "--socket-listen", sockAddr)
	db := relayDB(t, dir)
	tto := func() []string { return outbound(t, db) }
	insert := func(frame string) { insertTTI(t, db, frame) }
	endCalls := func(n int) func() bool {
		return func() bool {
			return len(slices.DeleteFunc(tto(), func(s string) bool { return s != "<jose><EndCall>$" })) == n
		}
	}

	admin := dialSocket(t, sockAddr)
	admin.RoundTrip("<ADMSOCKET><L><ON>$", "<ADMSOCKET><OK>$")
	insert("<jose><L><ON>$")
	insert("<jose><A><85><40050500><>$")
	wait.Within(t, 20*time.Second, "the first call to end", endCalls(1))
	got := tto()
	if len(got) != 5 || got[0] != "<jose><OK>$" || got[1] != "<jose><OK>$" {
		t.Fatalf("T_TTO = %q", got)
	}
	events := got[2:] // A, G, EndCall
	if !strings.HasPrefix(events[0], "<jose><A><") || !strings.HasPrefix(events[1], "<jose><G><") {
		t.Fatalf("events in T_TTO = %q", events)
	}
	// The monitor saw the same events, not the ERP's replies.
	if seen := admin.Frames(3); !slices.Equal(seen, events) {
		t.Fatalf("the socket monitor saw %q, T_TTO has %q", seen, events)
	}
	// jose's client arrives after the call: it asks for what it missed.
	jose := dialSocket(t, sockAddr)
	replay(t, jose, "<jose><REPLAY>$", "jose", events)

	// Commands on the socket are answered there, not in T_TTO.
	ana := dialSocket(t, sockAddr)
	ana.RoundTrip("<ana><L><ON>$", "<ana><OK>$")
	ana.RoundTrip("<ana><S>$", "<ana><S><1>$")
	ana.RoundTrip("<ana><XYZ>$", `<ana><ERR><UNKNOWN_VERB><unknown verb "XYZ">$`)
	if n := len(tto()); n != 5 {
		t.Fatalf("T_TTO has %d rows after the socket's commands: %q", n, tto())
	}
	if origins := column(t, db, "SELECT origin FROM relay_journal WHERE agent = 'ana' AND kind = 'command' ORDER BY id"); !slices.Equal(origins, []string{"socket", "socket"}) {
		t.Fatalf("ana's commands came from %q", origins)
	}
	// A frame that is no command is answered by the bridge, not recorded.
	if reasons := column(t, db, "SELECT source || ' ' || reason FROM relay_dead"); len(reasons) != 0 {
		t.Fatalf("relay_dead = %q", reasons)
	}

	// The switch dies: the ERP's command and the socket's wait, retried,
	// and both are answered once it is back.
	sw.kill()
	insert("<jose><S>$")
	if _, err := io.WriteString(ana.Conn(), "<ana><S>$"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // let the relay meet the dead switch at least once
	startSimServer(t, simAddr, simArgs...)
	if got := ana.Frames(1); got[0] != "<ana><S><0>$" { // a restarted switch has ana logged off
		t.Fatalf("ana got %q", got)
	}
	wait.Within(t, 20*time.Second, "jose's status after the switch came back", func() bool { return slices.Contains(tto(), "<jose><S><0>$") })
	if n := count(t, db, "SELECT count(*) FROM relay_dead"); n != 0 {
		t.Fatalf("%d dead letters, want none", n)
	}

	// The relay restarts: its clients are disconnected, and what was
	// delivered before is not delivered again.
	relayProc.stop()
	expectClosed(t, admin)
	expectClosed(t, jose)
	relayProc = startRelay(t, dir, "--config", cfg, "--socket-listen", sockAddr)
	insert("<jose><L><ON>$")
	insert("<jose><A><85><40050501><>$")
	wait.Within(t, 20*time.Second, "the second call to end", endCalls(2))
	got = tto()
	second := got[len(got)-3:]
	if !strings.HasPrefix(second[0], "<jose><A><") || second[2] != "<jose><EndCall>$" {
		t.Fatalf("T_TTO = %q", got)
	}
	jose = dialSocket(t, sockAddr)
	replay(t, jose, "<jose><REPLAY>$", "jose", second)
	if pos := column(t, db, "SELECT CAST(position AS TEXT) FROM relay_cursor WHERE name = 'socket:jose'"); len(pos) != 1 || pos[0] == "0" {
		t.Fatalf("relay_cursor socket:jose = %q", pos)
	}
	relayProc.stop()
}
