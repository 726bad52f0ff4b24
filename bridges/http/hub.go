package httpbridge

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// hubBuffer is what the one stream subscription may lag by: it only
// copies bytes into the clients' queues, so it keeps up.
const hubBuffer = 1 << 16

// hub fans the journal out to every SSE client from one feed subscription:
// a client costs its byte queue, not a subscription and its buffer. A
// client resuming behind the hub reads the journal through the feed
// (Feed.Read) on its own, then joins.
type hub struct {
	b  *Bridge
	mu sync.Mutex
	// pos is the last journal id the hub has handed to its clients.
	pos     int64
	clients map[*streamClient]struct{}
	sub     *relay.Subscription
	done    chan struct{}

	// Clients with events queued since the last flush: woken together once
	// per coalescing window (one timer for all, not one per client).
	dmu      sync.Mutex
	dirty    []*streamClient
	wake     chan struct{}
	quit     chan struct{} // closed by stop
	flushed  chan struct{} // closed when the flusher has returned
	coalesce time.Duration
}

// streamClient is one SSE client's queue of encoded events.
type streamClient struct {
	filter relay.Filter
	max    int

	mu     sync.Mutex
	queued bytes.Buffer
	cut    bool
	dirty  bool  // in the hub's dirty list
	last   int64 // last id queued
	notify chan struct{}
	lagged chan struct{}
}

func newStreamClient(f relay.Filter, max int) *streamClient {
	return &streamClient{filter: f, max: max, notify: make(chan struct{}, 1), lagged: make(chan struct{})}
}

// add queues an entry and has the hub wake the client's writer; false
// once the client is cut for lagging.
func (h *hub) add(c *streamClient, e relay.JournalEntry, enc []byte) bool {
	c.mu.Lock()
	if c.cut {
		c.mu.Unlock()
		return false
	}
	if e.ID <= c.last {
		c.mu.Unlock()
		return true
	}
	c.last = e.ID
	c.queued.Write(enc)
	if c.queued.Len() > c.max {
		c.cut = true
		close(c.lagged)
		c.mu.Unlock()
		return false
	}
	first := !c.dirty
	c.dirty = true
	c.mu.Unlock()
	if first {
		if h.coalesce <= 0 {
			signal(c.notify)
			return true
		}
		h.dmu.Lock()
		h.dirty = append(h.dirty, c)
		h.dmu.Unlock()
		signal(h.wake)
	}
	return true
}

// take swaps the queue out into buf (empty on entry).
func (c *streamClient) take(buf *bytes.Buffer) {
	c.mu.Lock()
	*buf, c.queued = c.queued, *buf
	c.dirty = false
	c.mu.Unlock()
}

// flusher wakes the dirty clients' writers once per coalescing window:
// what arrives meanwhile goes out in the same write and flush.
func (h *hub) flusher() {
	defer close(h.flushed)
	var batch []*streamClient
	for {
		select {
		case <-h.wake:
		case <-h.quit:
			return
		}
		select {
		case <-h.b.cfg.Clock.After(h.coalesce):
		case <-h.quit:
			return
		}
		h.dmu.Lock()
		batch, h.dirty = h.dirty, batch[:0]
		h.dmu.Unlock()
		for _, c := range batch {
			signal(c.notify)
		}
		clear(batch) // no client kept alive by the spare list
	}
}

func (h *hub) start() error {
	h.clients = map[*streamClient]struct{}{}
	h.done = make(chan struct{})
	h.wake, h.quit, h.flushed, h.coalesce = make(chan struct{}, 1), make(chan struct{}), make(chan struct{}), h.b.cfg.StreamCoalesce
	sub, err := h.b.feed.Subscribe("", relay.Filter{}, h.deliver, relay.Buffer(hubBuffer))
	if err != nil {
		return err
	}
	h.mu.Lock()
	h.sub, h.pos = sub, sub.Position()
	h.mu.Unlock()
	go h.watch()
	go h.flusher()
	return nil
}

// watch subscribes again after the hub's position should it lag.
func (h *hub) watch() {
	defer close(h.done)
	for {
		h.mu.Lock()
		sub := h.sub
		h.mu.Unlock()
		select {
		case <-sub.Done():
		case <-h.b.streams:
			return
		}
		if !errors.Is(sub.Err(), relay.ErrLagged) {
			return
		}
		h.mu.Lock()
		after := h.pos
		h.mu.Unlock()
		next, err := h.b.feed.Subscribe("", relay.Filter{}, h.deliver, relay.Buffer(hubBuffer), relay.After(after))
		if err != nil {
			return
		}
		h.b.log.Warn("the stream hub lagged behind the journal; caught up", "after", after)
		h.mu.Lock()
		h.sub = next
		h.mu.Unlock()
	}
}

func (h *hub) stop() {
	h.mu.Lock()
	sub := h.sub
	h.mu.Unlock()
	if sub != nil {
		sub.Close()
		<-h.done
		close(h.quit)
		<-h.flushed
	}
}

func (h *hub) deliver(d relay.Delivery) {
	e := d.Entry
	var enc []byte
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.clients {
		if !matches(c.filter, e) {
			continue
		}
		if enc == nil {
			enc = h.b.encoded.get(e)
		}
		if !h.add(c, e, enc) {
			delete(h.clients, c)
		}
	}
	h.pos = e.ID
}

// join registers c after journal id after (the hub's position when
// hasAfter is false), reading what lies between from the journal first.
func (h *hub) join(ctx context.Context, c *streamClient, after int64, hasAfter bool) error {
	if !hasAfter {
		h.mu.Lock()
		c.last = h.pos
		h.clients[c] = struct{}{}
		h.mu.Unlock()
		return nil
	}
	c.last = after
	for {
		h.mu.Lock()
		target := h.pos
		if c.last >= target {
			h.clients[c] = struct{}{}
			h.mu.Unlock()
			return nil
		}
		h.mu.Unlock()
		for c.last < target {
			entries, next, err := h.b.feed.Read(ctx, c.last, c.filter, maxEvents)
			if err != nil {
				return err
			}
			for _, e := range entries {
				if e.ID > target {
					break // the hub hands on what follows
				}
				if !h.add(c, e, h.b.encoded.get(e)) {
					return nil // cut: the handler sees lagged
				}
			}
			c.mu.Lock()
			c.last = max(c.last, min(next, target))
			c.mu.Unlock()
		}
	}
}

func (h *hub) leave(c *streamClient) {
	h.mu.Lock()
	delete(h.clients, c)
	h.mu.Unlock()
}
