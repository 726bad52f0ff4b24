package httpbridge

import (
	"bytes"
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

// A client resuming from before what the hub's ring holds reads the
// journal through the feed, then joins the ring: every entry once, in
// order, including those published while it caught up.
func TestStreamCatchesUpBehindTheRing(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil, Config{ringSize: 4})
	head := r.feed.Position()
	for i := range 10 {
		r.publish(relay.NewFrame("jose", "R", fmt.Sprint(i)))
	}
	if err := r.feed.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := r.stream(fmt.Sprintf("/v1/events/stream?after=%d", head))
	if ev := c.next(t); !ev.comment {
		t.Fatalf("first block %+v, want retry:", ev)
	}
	var ids []string
	for len(ids) < 10 {
		ev := c.next(t)
		ids = append(ids, ev.id)
		if !strings.Contains(ev.data, fmt.Sprintf(`\u003c%d\u003e`, len(ids)-1)) {
			t.Fatalf("event %d: %+v", len(ids)-1, ev)
		}
	}
	for i := 10; i < 16; i++ {
		r.publish(relay.NewFrame("jose", "R", fmt.Sprint(i)))
		if ev := c.next(t); !strings.Contains(ev.data, fmt.Sprintf(`\u003c%d\u003e`, i)) {
			t.Fatalf("event %d: %+v", i, ev)
		}
	}
}

// A client resuming from an id ahead of the feed sees only what follows it.
func TestStreamResumingAheadOfTheFeed(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil, Config{})
	head := r.feed.Position()
	c := r.stream(fmt.Sprintf("/v1/events/stream?after=%d", head+2))
	if ev := c.next(t); !ev.comment {
		t.Fatalf("first block %+v, want retry:", ev)
	}
	for i := range 3 {
		r.publish(relay.NewFrame("jose", "R", fmt.Sprint(i)))
		if err := r.feed.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if ev := c.next(t); ev.id != fmt.Sprint(head+3) {
		t.Fatalf("%+v, want id %d", ev, head+3)
	}
}

// A filtered client is woken only when the ring holds an entry for it,
// and moved past the others all the same (never cut for their bytes).
func TestHubWakesOnlyClientsWithSomethingToWrite(t *testing.T) {
	t.Parallel()
	b := &Bridge{cfg: Config{StreamCoalesce: time.Hour}, encoded: newEventCache(64)}
	h := &hub{b: b, ring: make([]ringEntry, 8), clients: map[*streamClient]struct{}{}, wake: make(chan struct{}, 1), coalesce: time.Hour}
	all := newStreamClient(relay.Filter{}, 1<<20, nil)
	maria := newStreamClient(relay.Filter{Agents: []string{"maria"}}, 600, nil)
	for _, c := range []*streamClient{all, maria} {
		if ok, _ := h.join(c, 0, false); !ok {
			t.Fatal("not joined")
		}
		<-c.notify // the join's own wake-up
	}
	notified := func(c *streamClient) bool {
		select {
		case <-c.notify:
			return true
		default:
			return false
		}
	}
	id := int64(0)
	publish := func(agent string) {
		id++
		h.deliver(relay.Delivery{Entry: relay.JournalEntry{ID: id, Kind: relay.KindEvent, Agent: agent, Frame: "<" + agent + "><R><" + strings.Repeat("x", 200) + ">$"}})
	}
	for range 5 { // more bytes than maria's bound
		publish("jose")
	}
	h.wakeAll()
	if !notified(all) || notified(maria) || maria.cut.Load() || maria.last.Load() != id {
		t.Fatalf("jose's events: maria's client cut %v, at %d of %d (want woken: all, not maria)", maria.cut.Load(), maria.last.Load(), id)
	}
	publish("Maria ")
	h.wakeAll()
	if !notified(maria) {
		t.Fatal("maria's event did not wake her client")
	}
	var batch [batchLen][]byte
	n, more, ok := h.read(maria, &batch)
	if !ok || more || n != 1 || !bytes.Contains(batch[0], []byte("id: 6\n")) {
		t.Fatalf("maria read %d %q (more %v, ok %v)", n, batch[:n], more, ok)
	}
}
