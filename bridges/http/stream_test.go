package httpbridge

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
)

// A stream client's writer waits StreamCoalesce after a wake-up, so the
// events that follow go out in the same write; none is lost or reordered.
func TestStreamCoalescesWrites(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil, Config{StreamCoalesce: 10 * time.Millisecond, Heartbeat: time.Hour})
	c := r.stream(fmt.Sprintf("/v1/events/stream?after=%d", r.feed.Position()))
	if ev := c.next(t); !ev.comment {
		t.Fatalf("first block %+v, want retry:", ev)
	}
	r.publish(relay.NewFrame("jose", "R", "1"))
	// The heartbeat's timer and the coalescing one.
	if !r.clock.WaitForWaiters(2, wait.Safety) {
		t.Fatal("the writer does not wait to coalesce")
	}
	r.publish(relay.NewFrame("jose", "R", "2"), relay.NewFrame("jose", "R", "3"))
	if err := r.feed.Flush(context.Background()); err != nil { // queued for the client
		t.Fatal(err)
	}
	r.clock.Advance(10 * time.Millisecond)
	for _, want := range []string{`"\u003cjose\u003e\u003cR\u003e\u003c1\u003e$"`, `\u003c2\u003e`, `\u003c3\u003e`} {
		if ev := c.next(t); !strings.Contains(ev.data, want) {
			t.Fatalf("%+v, want %s", ev, want)
		}
	}
}
