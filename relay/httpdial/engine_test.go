package httpdial_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
	"github.com/ctirelay/ctirelay/store/memstore"
)

// Through the engine: a platform that takes the dial and breaks the
// connection without answering gets it once. The dial is dead-lettered in
// doubt and answered ERR, and later retries of other commands do not send
// it again; a platform answering 503 is retried until it says OK.
func TestEngineNeverDialsTwice(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	d := newDriver(t, p.config(t))
	store := memstore.New()
	clock := relaytest.NewClock(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	e, err := relay.NewEngine(relay.EngineConfig{
		Node: "node-a", Store: store, Driver: d, Clock: clock,
		Backoff: relay.Backoff{Base: time.Second, Max: 2 * time.Second, Rand: func() float64 { return 0 }},
	})
	if err != nil {
		t.Fatal(err)
	}
	reached, release := p.Hold()
	store.InsertTTI(1, "<jose><A><85><40050500><>$")
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer e.Stop()
	<-reached
	p.srv.CloseClientConnections()
	release()
	tto := func() []string {
		var out []string
		for _, r := range store.TTO() {
			out = append(out, r.Text)
		}
		return out
	}
	wait.For(t, "the in-doubt answer", func() bool { return len(tto()) == 1 })
	if got := tto()[0]; !strings.HasPrefix(got, "<jose><ERR><IN_DOUBT>") {
		t.Fatalf("T_TTO = %q", tto())
	}
	if dead := store.Dead(); len(dead) != 1 || !strings.HasPrefix(dead[0].Reason, "in-doubt") {
		t.Fatalf("dead letters = %+v", dead)
	}

	p.answer(503, "busy")
	store.InsertTTI(2, "<jose><A><85><40050501><>$")
	wait.For(t, "a retried dial", func() bool {
		n := len(p.requests())
		if n >= 3 {
			p.answer(200, "OK")
		}
		clock.Advance(time.Second)
		return slices.Contains(tto(), "<jose><OK>$")
	})
	var first int
	for _, r := range p.requests() {
		if strings.HasSuffix(r.URI, "destino=8540050500") {
			first++
		}
	}
	if first != 1 {
		t.Fatalf("the in-doubt dial reached the platform %d times", first)
	}
}
