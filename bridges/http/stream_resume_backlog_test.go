package httpbridge

import (
	"context"
	"fmt"
	"testing"

	"github.com/ctirelay/ctirelay/relay"
)

// A client resuming (Last-Event-ID, ?after=) from an id the ring still
// holds, but with more than StreamBytes of the ring after it, gets every
// entry: it is not cut as "too slow" before a byte is written to it. It
// was: it reconnected with the same id, was cut again, and never caught
// up (found with 500 clients resuming after a flood of 4,000 commands,
// each cut at once, `ctirelay_http_sse_lagged_total` 500, nothing read).
func TestStreamResumesWithABacklogLargerThanStreamBytes(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil, Config{StreamBytes: 2 << 10})
	head := r.feed.Position()
	const n = 100 // ~15 KB encoded, well inside the ring's entries
	for i := range n {
		r.publish(relay.NewFrame("jose", "R", fmt.Sprint(i)))
	}
	if err := r.feed.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := r.stream(fmt.Sprintf("/v1/events/stream?after=%d", head))
	if ev := c.next(t); !ev.comment {
		t.Fatalf("first block %+v, want retry:", ev)
	}
	for i := range n {
		if ev := c.next(t); ev.id != fmt.Sprint(head+int64(i)+1) {
			t.Fatalf("event %d: %+v, want id %d", i, ev, head+int64(i)+1)
		}
	}
}
