package sim

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
)

// t0 is the moment of the recording in the Tactium document's example.
var t0 = time.Date(2015, 1, 16, 16, 38, 37, 0, time.UTC)

// safety bounds waits for other goroutines; it is never reached when the
// code is right, so it makes no claim about speed.
const safety = 10 * time.Second

// harness drives one switch on a manual clock and records its events.
type harness struct {
	t     *testing.T
	sw    *Switch
	clock *relaytest.Clock
	rec   *recorder
}

// newHarness builds and starts a switch with a subscriber that reads every
// event as it comes.
func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	h := build(t, cfg)
	h.rec = h.subscribe(1 << 16)
	h.rec.start()
	if err := h.sw.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return h
}

// build makes the switch only; the test decides about subscribers and Start.
func build(t *testing.T, cfg Config) *harness {
	t.Helper()
	clock := relaytest.NewClock(t0)
	cfg.Clock = clock
	sw, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sw.Stop)
	return &harness{t: t, sw: sw, clock: clock}
}

// subscribe registers a recorder that does not read until started.
func (h *harness) subscribe(buffer int) *recorder {
	ch, cancel := h.sw.Subscribe(buffer)
	h.sw.mu.Lock()
	sub := h.sw.subs[len(h.sw.subs)-1]
	h.sw.mu.Unlock()
	r := &recorder{ch: ch, sub: sub, sw: h.sw, done: make(chan struct{})}
	h.t.Cleanup(func() {
		cancel()
		if r.started {
			<-r.done
		}
	})
	return r
}

// send runs one command frame and renders the answer: the reply frames, or
// "ERR <code>" for a refusal.
func (h *harness) send(raw string) string {
	h.t.Helper()
	return h.sendCtx(context.Background(), raw)
}

func (h *harness) sendCtx(ctx context.Context, raw string) string {
	h.t.Helper()
	cmd := command(h.t, raw)
	frames, err := h.sw.Handle(ctx, cmd)
	if err != nil {
		var p *relay.ProtocolError
		if !errors.As(err, &p) {
			return "error: " + err.Error()
		}
		return "ERR " + p.Code
	}
	return joinFrames(frames)
}

func command(t testing.TB, raw string) relay.Command {
	t.Helper()
	f, err := relay.Parse(raw)
	if err != nil {
		t.Fatalf("parse %s: %v", raw, err)
	}
	cmd, err := relay.ParseCommand(f)
	if err != nil {
		t.Fatalf("command %s: %v", raw, err)
	}
	return cmd
}

func joinFrames(frames []relay.Frame) string {
	var b strings.Builder
	for _, f := range frames {
		b.WriteString(f.String())
	}
	return b.String()
}

// mustSend sends and insists on the answer.
func (h *harness) mustSend(raw, want string) {
	h.t.Helper()
	if got := h.send(raw); got != want {
		h.t.Fatalf("%s answered %s, want %s", raw, got, want)
	}
}

// settle waits until the scheduler has done everything due at the clock's
// time and is waiting for a later action (or for nothing).
func (h *harness) settle() {
	h.t.Helper()
	deadline := time.After(safety)
	for {
		s := h.sw
		s.mu.Lock()
		quiet := !s.started || s.stoppedLocked() ||
			(s.idle && (!s.idleTimer || s.idleUntil.After(h.clock.Now())))
		changed := s.changed
		s.mu.Unlock()
		if quiet {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			h.t.Fatal("switch did not settle")
		}
	}
}

// advance moves simulated time on and lets the switch act on it.
func (h *harness) advance(d time.Duration) {
	h.t.Helper()
	h.settle()
	h.clock.Advance(d)
	h.settle()
}

// expect asserts the exact events produced since the last expect.
func (h *harness) expect(want ...string) {
	h.t.Helper()
	h.settle()
	got := h.rec.drain(h.t)
	if !slices.Equal(got, want) {
		h.t.Fatalf("events:\n got %q\nwant %q", got, want)
	}
}

// state asserts the agent's state.
func (h *harness) state(login string, want relay.AgentState) {
	h.t.Helper()
	if got, _ := h.sw.Agent(login); got != want {
		h.t.Fatalf("agent %s is %v, want %v", login, got, want)
	}
}

// recorder collects a subscription's events.
type recorder struct {
	ch      <-chan relay.Frame
	sub     *subscription
	sw      *Switch
	started bool
	done    chan struct{}

	mu     sync.Mutex
	frames []string
	n      int64
}

func (r *recorder) start() {
	r.started = true
	go func() {
		defer close(r.done)
		for f := range r.ch {
			r.mu.Lock()
			r.frames = append(r.frames, f.String())
			r.n++
			r.mu.Unlock()
		}
	}()
}

// drain waits until every event queued for the subscriber has been recorded
// and takes them.
func (r *recorder) drain(t *testing.T) []string {
	t.Helper()
	var got []string
	wait.For(t, "the queued events to be delivered", func() bool {
		r.sw.mu.Lock()
		empty := len(r.sub.queue) == 0 && !r.sub.holding
		delivered := r.sub.delivered
		r.sw.mu.Unlock()
		r.mu.Lock()
		defer r.mu.Unlock()
		if !empty || r.n != delivered {
			return false
		}
		got, r.frames = r.frames, nil
		return true
	})
	return got
}
