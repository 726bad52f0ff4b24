package relay_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest"
	"github.com/ctirelay/ctirelay/store/memstore"
)

// twoRelays is two engines on one store: b runs commands, a hears the
// switch's events (as the holder of relay.LockMonitor would).
type twoRelays struct {
	t      *testing.T
	store  *memstore.Store
	clock  *relaytest.Clock
	a, b   *relay.Engine
	da, db *relaytest.Driver
}

func newTwoRelays(t *testing.T) *twoRelays {
	t.Helper()
	r := &twoRelays{t: t, store: memstore.New(), clock: relaytest.NewClock(epoch),
		da: &relaytest.Driver{}, db: &relaytest.Driver{Gate: make(chan struct{}), Started: make(chan relay.Command, 10)}}
	engine := func(node string, d relay.Driver) *relay.Engine {
		e, err := relay.NewEngine(relay.EngineConfig{Node: node, Store: r.store, Driver: d, Clock: r.clock,
			ExecTimeout: 10 * time.Second, PollInterval: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	r.a, r.b = engine("node-a", r.da), engine("node-b", r.db)
	return r
}

func (r *twoRelays) start(e *relay.Engine) {
	r.t.Helper()
	if err := e.Start(context.Background()); err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(e.Stop)
}

func (r *twoRelays) tto() []string {
	var out []string
	for _, row := range r.store.TTO() {
		out = append(out, row.Text)
	}
	return out
}

func (r *twoRelays) until(what string, cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			r.t.Fatalf("timed out waiting for %s; T_TTO = %q", what, r.tto())
		}
		r.clock.Advance(100 * time.Millisecond)
		time.Sleep(time.Millisecond) // yield to the engines; not waiting for time to pass
	}
}

// The dial runs at relay b; the switch's A event reaches relay a while b
// waits for the dial's answer. a journals the event only after b has
// journaled the OK.
func TestEventWaitsForAnotherRelaysReply(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	r := newTwoRelays(t)
	r.store.InsertTTI(0, "<jose><A><85><40050500><>$")
	r.start(r.b)
	if cmd := <-r.db.Started; cmd.Verb != relay.VerbDial {
		t.Fatalf("b sent %v", cmd)
	}
	r.start(r.a)
	event := relay.NewFrame("Jose", "A", "", "", "7001", "85", "40050500", "", "", "")
	r.da.Emit(context.Background(), event)
	maria := relay.NewFrame("maria", "R", "", "85", "32345678", "", "7002", "", "")
	r.da.Emit(context.Background(), maria)
	// maria's event, behind jose's in a's writer, shows a has decided on both
	r.until("maria's event", func() bool { return len(r.tto()) > 0 })
	r.clock.Advance(time.Second) // a looks again
	r.until("maria's event", func() bool { return len(r.tto()) > 0 })
	if got := r.tto(); !slices.Equal(got, []string{maria.String()}) {
		t.Fatalf("T_TTO while b's dial is at the switch = %q, want maria's event only", got)
	}
	close(r.db.Gate)
	r.until("jose's event", func() bool { return len(r.tto()) == 3 })
	want := []string{maria.String(), "<jose><OK>$", event.String()}
	if got := r.tto(); !slices.Equal(got, want) {
		t.Fatalf("T_TTO = %q, want %q", got, want)
	}
}

// An event never waits longer than the exec timeout for another relay's
// reply: here b's dial does not answer (b died, or its database is gone).
func TestEventWaitIsBounded(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	r := newTwoRelays(t)
	r.store.InsertTTI(0, "<jose><A><85><40050500><>$")
	r.start(r.b)
	<-r.db.Started
	r.start(r.a)
	r.da.Emit(context.Background(), relay.EndCall("jose"))
	r.da.Emit(context.Background(), relay.EndCall("maria"))
	r.until("maria's event", func() bool { return len(r.tto()) > 0 })
	if got := r.tto(); !slices.Equal(got, []string{"<maria><EndCall>$"}) {
		t.Fatalf("T_TTO = %q, want the event held", got)
	}
	r.until("the event, after the exec timeout", func() bool {
		return slices.ContainsFunc(r.tto(), func(s string) bool { return strings.Contains(s, "EndCall") })
	})
	close(r.db.Gate)
}
