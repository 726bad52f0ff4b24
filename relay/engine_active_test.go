package relay_test

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest"
)

// handGate is a relay.Gate the test grants by hand: each grant carries the
// channel whose closing loses it.
type handGate struct {
	grant    chan chan struct{}
	released atomic.Int32
}

func (g *handGate) Acquire(ctx context.Context) (<-chan struct{}, func(), error) {
	select {
	case lost := <-g.grant:
		var once sync.Once
		return lost, func() { once.Do(func() { g.released.Add(1) }) }, nil
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
}

// standbyDriver records what the engine tells it (relay.Standby).
type standbyDriver struct {
	*relaytest.Driver
	mu      sync.Mutex
	changes []bool
}

func (d *standbyDriver) SetActive(active bool) {
	d.mu.Lock()
	d.changes = append(d.changes, active)
	d.mu.Unlock()
}

func (d *standbyDriver) seen() []bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.changes)
}

// With EngineConfig.Active the engine takes rows into the inbox but runs
// no command until it holds the gate, stops claiming when it loses it,
// tells a Standby driver each change, and gives the gate back at Stop.
func TestEngineClaimsOnlyWhileActive(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	gate := &handGate{grant: make(chan chan struct{})}
	d := &standbyDriver{Driver: &relaytest.Driver{}}
	r := newRig(t, func(c *relay.EngineConfig) { c.Active = gate; c.Driver = d })
	r.driver = d.Driver
	r.start()
	calls := func() int { return len(d.Calls()) }

	r.store.InsertTTI(0, "<jose><P><ON><1>$")
	r.until("the row in the inbox", 50*time.Millisecond, func() bool { return r.engine.Stats().Intaken == 1 })
	for range 20 { // polls and claim attempts go by: nothing runs
		r.clock.Advance(50 * time.Millisecond)
		time.Sleep(time.Millisecond)
	}
	if n := calls(); n != 0 || len(r.tto()) != 0 {
		t.Fatalf("standing by, the switch saw %d commands, T_TTO %q", n, r.tto())
	}

	lost := make(chan struct{})
	gate.grant <- lost
	r.until("the command answered", 50*time.Millisecond, func() bool { return slices.Contains(r.tto(), "<jose><OK>$") })

	close(lost)
	r.until("standing by again", 0, func() bool { return slices.Equal(d.seen(), []bool{true, false}) })
	if gate.released.Load() != 1 {
		t.Fatalf("released %d times after the loss, want 1", gate.released.Load())
	}
	r.store.InsertTTI(0, "<jose><P><OFF>$")
	r.until("the second row in the inbox", 50*time.Millisecond, func() bool { return r.engine.Stats().Intaken == 2 })
	for range 20 {
		r.clock.Advance(50 * time.Millisecond)
		time.Sleep(time.Millisecond)
	}
	if n := calls(); n != 1 {
		t.Fatalf("after losing the gate the switch saw %d commands, want 1", n)
	}

	gate.grant <- make(chan struct{})
	r.until("the second command answered", 50*time.Millisecond, func() bool { return calls() == 2 && len(r.tto()) == 2 })
	r.engine.Stop()
	if got := gate.released.Load(); got != 2 {
		t.Fatalf("released %d times, want 2 (the loss, then Stop)", got)
	}
	if !slices.Equal(d.seen(), []bool{true, false, true}) {
		t.Fatalf("SetActive calls %v", d.seen())
	}
}

// A command at the switch when the gate is lost finishes, and its settle
// does not lease the agent's next command: a standby relay runs nothing.
func TestEngineLosingTheGateMidCommand(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	gate := &handGate{grant: make(chan chan struct{})}
	d := &standbyDriver{Driver: &relaytest.Driver{Gate: make(chan struct{}), Started: make(chan relay.Command, 4)}}
	r := newRig(t, func(c *relay.EngineConfig) { c.Active = gate; c.Driver = d })
	r.driver = d.Driver
	r.start()
	lost := make(chan struct{})
	gate.grant <- lost
	r.store.InsertTTI(0, "<jose><P><ON><1>$")
	r.store.InsertTTI(0, "<jose><P><OFF>$")
	r.until("the first command at the switch", 50*time.Millisecond, func() bool { return len(d.Calls()) == 1 })
	close(lost)
	r.until("standing by", 0, func() bool { return slices.Equal(d.seen(), []bool{true, false}) })
	d.Gate <- struct{}{} // the switch answers the first command
	r.until("the first answer", 50*time.Millisecond, func() bool { return len(r.tto()) == 1 })
	for range 20 {
		r.clock.Advance(50 * time.Millisecond)
		time.Sleep(time.Millisecond)
	}
	if n := len(d.Calls()); n != 1 {
		t.Fatalf("standing by, the switch saw %d commands, want 1", n)
	}
	r.engine.Stop()
}
