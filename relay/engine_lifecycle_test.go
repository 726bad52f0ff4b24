package relay_test

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest"
	"github.com/ctirelay/ctirelay/store/memstore"
)

func TestEngineLifecycle(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	relaytest.StressStartStop(t, func(t *testing.T) relay.Service {
		d := &relaytest.Driver{}
		e, err := relay.NewEngine(relay.EngineConfig{Node: "node-a", Store: memstore.New(), Driver: d, Clock: relaytest.NewClock(epoch)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			e.Stop()
			if n := d.Closed(); n > 1 {
				t.Errorf("driver closed %d times", n)
			}
		})
		return e
	})
}

// counter counts the log records with one of some messages.
type counter struct {
	msgs []string
	n    *atomic.Int64
}

func (c counter) Enabled(context.Context, slog.Level) bool { return true }
func (c counter) Handle(_ context.Context, r slog.Record) error {
	if slices.Contains(c.msgs, r.Message) {
		c.n.Add(1)
	}
	return nil
}
func (c counter) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c counter) WithGroup(string) slog.Handler      { return c }

// multi sends each record to every handler.
type multi []slog.Handler

func (m multi) Enabled(context.Context, slog.Level) bool { return true }
func (m multi) Handle(ctx context.Context, r slog.Record) error {
	for _, h := range m {
		_ = h.Handle(ctx, r)
	}
	return nil
}
func (m multi) WithAttrs([]slog.Attr) slog.Handler { return m }
func (m multi) WithGroup(string) slog.Handler      { return m }

// A driver that keeps emitting while the engine stops, and after, neither
// panics nor races (run with -race): every event is either published, or
// held for the spill (the driver closed while it waited for the writer, or
// it came after the writer closed but before the spill was written), or
// logged as not recorded (after that) or dropped (its context ended while it
// waited).
func TestEngineRefusesEventsAfterStop(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	var late, notRecorded atomic.Int64
	s, d := memstore.New(), &relaytest.Driver{LateEvents: true}
	e, err := relay.NewEngine(relay.EngineConfig{
		Node: "node-a", Store: s, Driver: d, Clock: relaytest.NewClock(epoch), WriteBatch: 4, MaxInFlight: 1,
		Logger: slog.New(multi{
			counter{msgs: []string{"event after shutdown not recorded", "event dropped: driver context ended"}, n: &late},
			counter{msgs: []string{"event after shutdown not recorded"}, n: &notRecorded},
		}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	const emitters, each = 4, 200
	var wg sync.WaitGroup
	started := make(chan struct{}, emitters)
	for i := range emitters {
		wg.Go(func() {
			for j := range each {
				if j == 1 {
					started <- struct{}{}
				}
				d.Emit(context.Background(), relay.NewFrame("agent"+string(rune('a'+i)), "EndCall"))
			}
		})
	}
	for range emitters {
		<-started // Stop races the emitters, not their start
	}
	e.Stop()
	wg.Wait()
	// And after Stop has returned.
	d.Emit(context.Background(), relay.NewFrame("jose", "EndCall"))
	// Held for the spill while Stop closed the driver: with no spill
	// directory here, counted lost (and logged with their frames).
	published, held := e.Stats().Events, e.Stats().Lost
	if total := int64(emitters*each + 1); published+late.Load()+held != total {
		t.Fatalf("%d events published, %d refused or dropped, %d held for the spill, want %d in all", published, late.Load(), held, total)
	}
	if notRecorded.Load() == 0 {
		t.Fatal("no event was refused: the one sent after Stop should have been")
	}
}
