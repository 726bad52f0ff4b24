package socket

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/internal/tactiumtest"
	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
	"github.com/ctirelay/ctirelay/store/memstore"
)

// relayRig is what `ctirelay run` wires: one store, one feed, an engine
// that wakes it, the bridge on that feed; stop stops them in run's order.
type relayRig struct {
	t      *testing.T
	store  *memstore.Store
	feed   *relay.Feed
	engine *relay.Engine
	b      *Bridge
}

func startRelay(t *testing.T, s *memstore.Store, driver relay.Driver) *relayRig {
	t.Helper()
	feed, err := relay.NewFeed(relay.FeedConfig{Store: s, PollInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	engine, err := relay.NewEngine(relay.EngineConfig{Node: "n1", Store: s, Driver: driver, PollInterval: time.Millisecond,
		ShutdownTimeout: time.Millisecond, Committed: feed.Wake})
	if err != nil {
		t.Fatal(err)
	}
	if err := feed.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := engine.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	b, err := New(Config{Feed: feed, Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := &relayRig{t: t, store: s, feed: feed, engine: engine, b: b}
	t.Cleanup(r.stop)
	return r
}

// stop is run's shutdown: no new commands, the engine finishes (cutting
// off what the switch holds), the feed delivers and answers the rest, the
// bridge closes.
func (r *relayRig) stop() {
	r.b.Quiesce()
	r.engine.Stop()
	r.feed.Stop()
	r.b.Stop()
}

func (r *relayRig) dial() *tactiumtest.Client {
	return tactiumtest.Dial(r.t, r.b.ListenAddr().String())
}

// drained waits until the inbox is empty and returns the dead letters.
func drained(t *testing.T, s *memstore.Store) []relay.DeadLetter {
	t.Helper()
	wait.For(t, "the inbox emptied", func() bool { return s.InboxLen() == 0 })
	dead, err := s.DeadLetters(context.Background(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	return dead
}

func sent(d *relaytest.Driver) []string {
	var out []string
	for _, c := range d.Calls() {
		out = append(out, c.Frame.String())
	}
	return out
}

func expectShutdown(t *testing.T, who string, c *tactiumtest.Client) {
	t.Helper()
	got := c.ExpectClosed()
	if len(got) != 1 || !strings.HasPrefix(got[0], "<so4><ERR><SHUTDOWN>") {
		t.Fatalf("%s read %q before the close, want one ERR SHUTDOWN", who, got)
	}
}

func requesterGone(t *testing.T, dead []relay.DeadLetter, frame string) {
	t.Helper()
	if len(dead) != 1 || dead[0].Frame != frame || dead[0].Code != relay.CodeRequesterGone ||
		!strings.HasPrefix(dead[0].Reason, relay.ReasonRequesterGone+": ") {
		t.Fatalf("dead letters %+v, want the dial as %s", dead, relay.ReasonRequesterGone)
	}
}

const (
	logon = "<so4><L><ON>$"
	dial  = "<so4><A><85><40050777><>$"
)

// Issue 10 §3: x's logon is slow at the switch, y's dial waits behind it;
// the relay stops. Both clients are told ERR SHUTDOWN before the close, and
// after the restart the dial is dead-lettered, never sent: no one is left
// to read its reply. The logon (idempotent) runs again.
func TestStopAbandonsTheQueuedDialOfAWaitingClient(t *testing.T) {
	t.Parallel()
	s := memstore.New()
	d1 := &relaytest.Driver{Gate: make(chan struct{}), Started: make(chan relay.Command, 4)}
	r := startRelay(t, s, d1)
	x, y := r.dial(), r.dial()
	x.Send(logon)
	<-d1.Started
	y.Send(dial)
	wait.For(t, "the dial queued", func() bool { return s.InboxLen() == 2 })
	r.stop()
	expectShutdown(t, "x", x)
	expectShutdown(t, "y", y)

	d2 := &relaytest.Driver{}
	startRelay(t, s, d2)
	requesterGone(t, drained(t, s), dial)
	if got := sent(d2); len(got) != 1 || got[0] != logon {
		t.Fatalf("after the restart the switch got %q, want the logon only", got)
	}
}

// One connection whose command was cut off before it reached the switch:
// ERR SHUTDOWN, and the command is not sent after the restart.
func TestStopAbandonsACutOffCommandThatWasNotSent(t *testing.T) {
	t.Parallel()
	s := memstore.New()
	d1 := &relaytest.Driver{Started: make(chan relay.Command, 4), Handle: func(ctx context.Context, cmd relay.Command) ([]relay.Frame, error) {
		<-ctx.Done() // still waiting to be written when the stop cut it off
		return nil, relay.Transient(errors.New("not sent: connection busy"))
	}}
	r := startRelay(t, s, d1)
	y := r.dial()
	y.Send(dial)
	<-d1.Started
	r.stop()
	expectShutdown(t, "y", y)

	d2 := &relaytest.Driver{}
	startRelay(t, s, d2)
	requesterGone(t, drained(t, s), dial)
	if got := sent(d2); len(got) != 0 {
		t.Fatalf("after the restart the switch got %q, want nothing", got)
	}
}

// A client that hangs up while its dial waits: the dial is dead-lettered
// when it reaches the head, never sent; the other client's logon, at the
// switch meanwhile, runs to its end and is answered.
func TestClientThatLeavesAbandonsItsQueuedDial(t *testing.T) {
	t.Parallel()
	s := memstore.New()
	gate := make(chan struct{})
	d := &relaytest.Driver{Gate: gate, Started: make(chan relay.Command, 4)}
	r := startRelay(t, s, d)
	x, y := r.dial(), r.dial()
	x.Send(logon)
	<-d.Started
	y.Send(dial)
	wait.For(t, "the dial queued", func() bool { return s.InboxLen() == 2 })
	y.Close()
	wait.For(t, "the dial abandoned", func() bool { return r.feed.Abandoned() == 1 })
	close(gate)
	x.Expect("<so4><OK>$")
	requesterGone(t, drained(t, s), dial)
	if got := sent(d); len(got) != 1 || got[0] != logon {
		t.Fatalf("the switch got %q, want the logon only", got)
	}
	j, err := s.Journal(context.Background(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var answered bool
	for _, e := range j {
		answered = answered || (e.Kind == relay.KindReply && strings.HasPrefix(e.Frame, "<so4><ERR><"+relay.CodeRequesterGone+">"))
	}
	if !answered {
		t.Fatalf("journal %+v has no ERR %s for the dial", j, relay.CodeRequesterGone)
	}
}
