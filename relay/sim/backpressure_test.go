package sim

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
)

// A subscriber that does not keep up holds the switch back; once it reads,
// it gets every event, in the same order a fast reader gets them.
func TestSlowSubscriberLosesNothing(t *testing.T) {
	t.Parallel()
	cfg := Config{Seed: 5, InboundPerMinute: 30, TalkTime: 20 * time.Second, WrapUp: 5 * time.Second}
	agents := []string{"a1", "a2", "a3", "a4", "a5"}

	fast := newHarness(t, cfg)
	for _, login := range agents {
		fast.mustSend("<"+login+"><L><ON>$", "<"+login+"><OK>$")
	}
	fast.advance(time.Hour)
	want := fast.rec.drain(t)
	if len(want) < 100 {
		t.Fatalf("only %d events", len(want))
	}

	slow := build(t, cfg)
	slow.rec = slow.subscribe(2)
	if err := slow.sw.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, login := range agents {
		slow.mustSend("<"+login+"><L><ON>$", "<"+login+"><OK>$")
	}
	slow.settle()
	slow.clock.Advance(time.Hour)
	wait.For(t, "the switch to fill the subscriber's buffer", func() bool {
		slow.sw.mu.Lock()
		defer slow.sw.mu.Unlock()
		return len(slow.rec.sub.queue) >= 2 && !slow.sw.idle
	})
	slow.sw.mu.Lock()
	queued := len(slow.rec.sub.queue)
	slow.sw.mu.Unlock()
	if queued > 2+2 { // an action emits at most two events past the bound
		t.Fatalf("%d events queued for a buffer of 2", queued)
	}

	// Commands wait while the subscriber is behind (here: until ctx ends).
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if got := slow.sendCtx(ctx, "<a1><S>$"); !strings.HasPrefix(got, "error: ") {
		t.Fatalf("command answered %s while events were held back", got)
	}
	if _, err := slow.sw.Handle(ctx, command(t, "<a1><S>$")); !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}

	slow.rec.start()
	slow.settle() // the switch catches up as the reader reads
	got := slow.rec.drain(t)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("slow reader got %d events, fast reader %d; first difference at %d", len(got), len(want), firstDiff(got, want))
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
