package tactium_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay/relaytest"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
	"github.com/ctirelay/ctirelay/relay/tactium"
)

// testGate is granted by the test: each value sent on grant is the lost
// channel of one Acquire.
type testGate struct {
	grant    chan chan struct{}
	released chan struct{}
}

func (g testGate) Acquire(ctx context.Context) (<-chan struct{}, func(), error) {
	select {
	case lost := <-g.grant:
		return lost, func() { g.released <- struct{}{} }, nil
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
}

// With a Monitor gate the driver listens only while it holds the gate, and
// hangs up when the gate is lost: another relay is listening then. Commands
// never wait for the gate.
func TestDriverMonitorsOnlyWhileItHoldsTheGate(t *testing.T) {
	t.Parallel()
	f := startFake(t, func(frame string) string { return documentAnswers[frame] })
	clock := relaytest.NewClock(epoch)
	gate := testGate{grant: make(chan chan struct{}), released: make(chan struct{}, 4)}
	d := newDriver(t, tactium.Config{Addr: f.addr(), Clock: clock, Backoff: fixedBackoff(time.Second), Monitor: gate})
	events := newSink()
	if err := d.Open(t.Context(), events); err != nil {
		t.Fatal(err)
	}
	if got := execute(t, d, "<jose><L><ON>$"); got != "<jose><OK>$" {
		t.Fatalf("L ON without the gate = %s", got)
	}
	wait.For(t, "the driver to wait for the gate", func() bool { return d.Status().Standby })
	// Standing by is no failure: its command connection reaches the switch.
	if h := d.Health(); !h.Standby || !h.Connected {
		t.Fatalf("Health while another relay monitors = %+v, want standby and connected", h)
	}
	if slices.ContainsFunc(f.received(), func(s string) bool { return strings.Contains(s, "ADMSOCKET") }) || d.Status().Monitoring {
		t.Fatalf("a driver without the gate logged on as ADMSOCKET: %q", f.received())
	}

	lost := make(chan struct{})
	gate.grant <- lost
	mon := f.monitor(t)
	if _, err := mon.Write([]byte("<jose><EndCall>$")); err != nil {
		t.Fatal(err)
	}
	events.expect(t, "<jose><EndCall>$")
	if st := d.Status(); st.Standby || !st.Monitoring {
		t.Fatalf("status while listening = %+v", st)
	}
	if h := d.Health(); h.Standby || !h.Connected {
		t.Fatalf("Health while listening = %+v", h)
	}

	pending := clock.Waiters()
	close(lost) // another relay may be listening now
	wait.For(t, "the driver to hang up", func() bool { return !d.Status().Monitoring })
	select {
	case <-gate.released:
	case <-time.After(safety):
		t.Fatal("the gate was not released")
	}
	if !clock.WaitForWaiters(pending+1, safety) {
		t.Fatal("the driver is not waiting to listen again")
	}
	clock.Advance(time.Second)
	gate.grant <- make(chan struct{}) // its turn again
	mon = f.monitor(t)
	if _, err := mon.Write([]byte("<jose><EndCall>$")); err != nil {
		t.Fatal(err)
	}
	events.expect(t, "<jose><EndCall>$")
}
