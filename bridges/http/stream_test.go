package httpbridge

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest"
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
	for _, want := range []string{`"<jose><R><1>$"`, `<2>`, `<3>`} {
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
		if !strings.Contains(ev.data, fmt.Sprintf(`<%d>`, len(ids)-1)) {
			t.Fatalf("event %d: %+v", len(ids)-1, ev)
		}
	}
	for i := 10; i < 16; i++ {
		r.publish(relay.NewFrame("jose", "R", fmt.Sprint(i)))
		if ev := c.next(t); !strings.Contains(ev.data, fmt.Sprintf(`<%d>`, i)) {
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

// A client far behind reads the ring a batch at a time: every entry its
// filter takes once and in order, and its position and bytes behind move
// with what it took, so the lag bound counts what it has still to write.
func TestHubReadsInBatches(t *testing.T) {
	t.Parallel()
	b := &Bridge{cfg: Config{StreamCoalesce: time.Hour}, encoded: newEventCache(256)}
	h := &hub{b: b, ring: make([]ringEntry, 256), clients: map[*streamClient]struct{}{}, wake: make(chan struct{}, 1), coalesce: time.Hour}
	jose := newStreamClient(relay.Filter{Agents: []string{"jose"}}, 1<<20, nil)
	if ok, _ := h.join(jose, 0, false); !ok {
		t.Fatal("not joined")
	}
	want := 2*batchLen + 3
	var joses []int64 // ids of jose's entries
	for id := int64(1); len(joses) < want; id++ {
		agent := "jose"
		if id%3 == 0 {
			agent = "maria" // between jose's: skipped, never cut for
		}
		h.deliver(relay.Delivery{Entry: relay.JournalEntry{ID: id, Kind: relay.KindEvent, Agent: agent, Frame: fmt.Sprintf("<%s><R><%d>$", agent, id)}})
		if agent == "jose" {
			joses = append(joses, id)
		}
	}
	var got []int64
	var batch [batchLen][]byte
	for round := 0; ; round++ {
		n, more, ok := h.read(jose, &batch)
		if !ok {
			t.Fatalf("round %d: cut", round)
		}
		for _, enc := range batch[:n] {
			var id int64
			if _, err := fmt.Sscanf(string(enc), "id: %d\n", &id); err != nil {
				t.Fatalf("%q: %v", enc, err)
			}
			got = append(got, id)
		}
		if !more {
			break
		}
		if n != batchLen {
			t.Fatalf("round %d: %d entries and more, want a full batch of %d", round, n, batchLen)
		}
		// The bytes behind are those of the entries after its position.
		var behind int64
		for _, re := range h.ring[:h.n] {
			if re.e.ID > jose.last.Load() {
				behind += int64(len(re.enc))
			}
		}
		// At its last entry or past entries it does not take, short of
		// its next.
		at, next := jose.last.Load(), joses[len(got)]
		if h.bytes-jose.upTo.Load() != behind || at < got[len(got)-1] || at >= next {
			t.Fatalf("round %d: at %d, %d bytes behind, want in [%d, %d), %d behind", round, at, h.bytes-jose.upTo.Load(), got[len(got)-1], next, behind)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(joses) {
		t.Fatalf("read %v\nwant %v", got, joses)
	}
	if jose.last.Load() != h.pos || jose.upTo.Load() != h.bytes {
		t.Fatalf("at %d (%d bytes), want the ring's end %d (%d)", jose.last.Load(), jose.upTo.Load(), h.pos, h.bytes)
	}
}

// One heartbeat timer serves every stream: the clients add no timer, and
// each gets its comment from the one tick.
func TestStreamHeartbeatIsOneTimerForAll(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil, Config{Heartbeat: DefaultHeartbeat})
	if !r.clock.WaitForWaiters(1, wait.Safety) {
		t.Fatal("no heartbeat timer")
	}
	idle := r.clock.Waiters()
	var cs []*sseClient
	for range 3 {
		c := r.stream(fmt.Sprintf("/v1/events/stream?after=%d", r.feed.Position()))
		if ev := c.next(t); !ev.comment {
			t.Fatalf("first block %+v, want retry:", ev)
		}
		cs = append(cs, c)
	}
	wait.For(t, "the streams joined", func() bool { return testutil.ToFloat64(r.b.m.streams) == 3 })
	if n := r.clock.Waiters(); n != idle {
		t.Fatalf("%d timers with 3 streams, want %d as with none", n, idle)
	}
	r.clock.Advance(DefaultHeartbeat)
	for i, c := range cs {
		if ev := c.next(t); !ev.comment {
			t.Fatalf("client %d: %+v, want a heartbeat", i, ev)
		}
	}
}

// A client that goes away ends its stream at once, with no event or
// heartbeat to write (the clock never moves here).
func TestStreamEndsWhenTheClientLeaves(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil, Config{Heartbeat: time.Hour})
	c := r.stream(fmt.Sprintf("/v1/events/stream?after=%d", r.feed.Position()))
	if ev := c.next(t); !ev.comment {
		t.Fatalf("first block %+v, want retry:", ev)
	}
	wait.For(t, "the stream joined", func() bool { return testutil.ToFloat64(r.b.m.streams) == 1 })
	c.res.Body.Close()
	wait.For(t, "the stream ended", func() bool { return testutil.ToFloat64(r.b.m.streams) == 0 })
	r.b.hub.mu.RLock()
	defer r.b.hub.mu.RUnlock()
	if len(r.b.hub.clients) != 0 {
		t.Fatalf("%d clients left in the hub", len(r.b.hub.clients))
	}
}

// Stop ends the streams waiting for events: the server's shutdown does not
// wait out its drain timeout for them.
func TestStopEndsWaitingStreams(t *testing.T) {
	t.Parallel()
	var logs relaytest.Buffer
	r := newRig(t, nil, Config{Heartbeat: time.Hour, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	var cs []*sseClient
	for range 2 {
		c := r.stream(fmt.Sprintf("/v1/events/stream?after=%d", r.feed.Position()))
		if ev := c.next(t); !ev.comment {
			t.Fatalf("first block %+v, want retry:", ev)
		}
		cs = append(cs, c)
	}
	wait.For(t, "the streams joined", func() bool { return testutil.ToFloat64(r.b.m.streams) == 2 })
	r.b.Stop()
	for i, c := range cs {
		if _, err := io.ReadAll(c.rd); err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
	}
	if strings.Contains(logs.String(), "msg=shutdown") {
		t.Fatalf("the shutdown waited for the streams:\n%s", logs.String())
	}
}
