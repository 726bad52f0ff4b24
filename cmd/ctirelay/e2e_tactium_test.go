package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
)

// simServer is a `ctirelay sim --listen` process.
type simServer struct {
	cmd  *exec.Cmd
	done chan error
}

func startSimServer(t *testing.T, addr string, args ...string) *simServer {
	t.Helper()
	return startSim(t, append([]string{"--listen", addr}, args...), "the sim server to listen on "+addr, listening(addr))
}

// startSim starts `ctirelay sim` with args, killed when the test ends, and
// waits until ready says it serves.
func startSim(t *testing.T, args []string, what string, ready func() bool) *simServer {
	t.Helper()
	cmd := exec.Command(ctirelayBinary(t), append([]string{"sim"}, args...)...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &simServer{cmd: cmd, done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait() }()
	t.Cleanup(s.kill)
	wait.Within(t, 20*time.Second, what, ready)
	return s
}

func (s *simServer) kill() {
	if s.cmd.ProcessState == nil {
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// tactiumRelayConfig points a relay at a Tactium socket with retries quick
// enough to ride out a switch restart in a test; extra is appended YAML.
func tactiumRelayConfig(switchAddr, extra string) string {
	return fmt.Sprintf(`
switch:
  driver: tactium
  tactium:
    address: %s
    reply_timeout: 2s
engine:
  max_attempts: 20
  backoff_base: 100ms
  backoff_max: 500ms
`, switchAddr) + extra
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestE2ERelayDrivesATactiumSocket points the relay's tactium driver at
// `ctirelay sim --listen`: rows in T_TTI become commands on the socket, the
// switch's replies and events land in T_TTO, and a switch that dies and comes
// back loses nothing.
func TestE2ERelayDrivesATactiumSocket(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	simArgs := []string{"--ring-time", "0s", "--talk-time", "1s"}
	sw := startSimServer(t, addr, simArgs...)
	dir := t.TempDir()
	cfg := writeFile(t, filepath.Join(dir, "ctirelay.yaml"), tactiumRelayConfig(addr, ""))
	relay := startRelay(t, dir, "--config", cfg)
	db := relayDB(t, dir)
	tto := func() []string { return outbound(t, db) }
	insert := func(frame string) { insertTTI(t, db, frame) }

	insert("<jose><L><ON>$")
	insert("<jose><A><85><40050500><>$")
	wait.Within(t, 20*time.Second, "the call to end", func() bool { return slices.Contains(tto(), "<jose><EndCall>$") })
	got := tto()
	if got[0] != "<jose><OK>$" || got[1] != "<jose><OK>$" {
		t.Fatalf("replies = %q", got)
	}
	for _, prefix := range []string{"<jose><A><", "<jose><G><"} {
		if !slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, prefix) }) {
			t.Fatalf("no %s… event from the switch in %q", prefix, got)
		}
	}

	// The switch dies; a command waits (retried, not lost) until it is back.
	sw.kill()
	insert("<jose><S>$")
	time.Sleep(300 * time.Millisecond) // let the relay meet the dead switch at least once
	startSimServer(t, addr, simArgs...)
	wait.Within(t, 20*time.Second, "the status reply after the switch came back", func() bool {
		return slices.Contains(tto(), "<jose><S><0>$") // a restarted switch has jose logged off
	})
	if n := count(t, db, "SELECT count(*) FROM relay_dead"); n != 0 {
		t.Fatalf("%d dead letters", n)
	}
	relay.stop()
}
