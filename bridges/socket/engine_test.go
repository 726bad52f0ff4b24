package socket

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
	"github.com/ctirelay/ctirelay/store/memstore"
)

// TestWithTheEngine runs the bridge beside a real engine: a socket client
// and the ERP share one queue and one switch.
func TestWithTheEngine(t *testing.T) {
	t.Parallel()
	s := memstore.New()
	driver := &relaytest.Driver{}
	engine, err := relay.NewEngine(relay.EngineConfig{Node: "n1", Store: s, Driver: driver, PollInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := engine.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := newRig(t, s, Config{})
	defer engine.Stop() // after the bridge has stopped (cleanups run later)
	jose := r.dial()
	jose.RoundTrip("<jose><L><ON>$", "<jose><OK>$")
	jose.RoundTrip("<jose><S>$", "<jose><S><1>$")

	s.InsertTTI(0, "<jose><P><OFF>$") // the ERP's command: its reply goes to T_TTO
	driver.Emit(context.Background(), relay.EndCall("jose"))
	jose.Expect("<jose><EndCall>$")
	wait.For(t, "T_TTO", func() bool { return len(s.TTO()) == 2 })
	var tto []string
	for _, row := range s.TTO() {
		tto = append(tto, row.Text)
	}
	if !slices.Contains(tto, "<jose><OK>$") || !slices.Contains(tto, "<jose><EndCall>$") {
		t.Fatalf("T_TTO = %q", tto)
	}
	// The socket got the event only: its next frame answers its next command.
	jose.RoundTrip("<jose><S>$", "<jose><S><1>$")
	calls := driver.Calls()
	if len(calls) != 4 {
		t.Fatalf("the switch got %d commands, want 4", len(calls))
	}
	r.b.Stop()
}
