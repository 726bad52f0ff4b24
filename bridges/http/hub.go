package httpbridge

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// hubBuffer is what the one stream subscription may lag by: it only
// appends to the ring, so it keeps up (should it lag, it subscribes again
// from its position: nothing is lost). Each slot is a journal entry (~200 B)
// once used: a fixed cost of the process, not of a client.
const hubBuffer = 1 << 13

// hubRing is how many recent entries the hub keeps, encoded, for its
// clients to read; a client that falls out of it is cut (it resumes with
// Last-Event-ID).
const hubRing = 8192

// hub fans the journal out to every SSE client from one feed subscription
// and one ring of recent entries, each encoded once: a client costs its
// position in the ring, not a subscription, a buffer or a copy of each
// event. Clients are woken together once per coalescing window (one timer
// for all) and copy what they have not yet written from the ring into one
// write. A client resuming behind the ring reads the journal through the
// feed (Feed.Read) on its own, then joins.
type hub struct {
	b *Bridge

	mu      sync.RWMutex
	pos     int64 // last journal id appended
	evicted int64 // the ring holds every entry after this id
	ring    []ringEntry
	first   int   // index of the oldest entry
	n       int   // entries in the ring
	bytes   int64 // encoded bytes appended since start
	clients map[*streamClient]struct{}
	sub     *relay.Subscription
	done    chan struct{}

	wake     chan struct{} // something was appended: the flusher's cue
	quit     chan struct{} // closed by stop
	flushed  chan struct{} // closed when the flusher has returned
	beaten   chan struct{} // closed when the heartbeat has returned
	coalesce time.Duration
}

type ringEntry struct {
	e   relay.JournalEntry
	enc []byte
	end int64 // hub.bytes once this entry was appended
}

// streamClient is one SSE client: its filter and where it is in the ring.
// last and upTo are the writer's, read by the flusher for the lag check.
// It holds no buffer, timer or goroutine of its own: the writer copies the
// ring's references (a pooled batch) and writes the shared encodings
// through net/http's buffers; one heartbeat tick serves every client.
type streamClient struct {
	filter relay.Filter
	max    int
	rc     *http.ResponseController

	last   atomic.Int64 // last journal id handed to the writer
	upTo   atomic.Int64 // hub.bytes as of last
	cut    atomic.Bool  // too slow: the writer logs and returns
	beat   atomic.Bool  // a heartbeat is due
	notify chan struct{}
	w      http.ResponseWriter // net/http's own, under the guard's
}

func newStreamClient(f relay.Filter, max int, rc *http.ResponseController) *streamClient {
	return &streamClient{filter: f, max: max, rc: rc, notify: make(chan struct{}, 1)}
}

// batchLen bounds one read from the ring: the writer writes what it read
// and reads again, so a client far behind costs a batch, not a copy of
// everything it has still to write.
const batchLen = 16

// batches holds the writers' batches of references to encoded entries:
// a thousand idle clients hold none.
var batches = sync.Pool{New: func() any { return new([batchLen][]byte) }}

func (h *hub) start() error {
	h.clients = map[*streamClient]struct{}{}
	size := hubRing
	if h.b.cfg.ringSize > 0 {
		size = h.b.cfg.ringSize
	}
	h.ring = make([]ringEntry, size)
	h.done = make(chan struct{})
	h.wake, h.quit, h.flushed, h.beaten, h.coalesce = make(chan struct{}, 1), make(chan struct{}), make(chan struct{}), make(chan struct{}), h.b.cfg.StreamCoalesce
	sub, err := h.b.feed.Subscribe("", relay.Filter{}, h.deliver, relay.Buffer(hubBuffer))
	if err != nil {
		return err
	}
	h.mu.Lock()
	h.sub, h.pos = sub, sub.Position()
	h.evicted = h.pos
	h.mu.Unlock()
	go h.watch()
	go h.flusher()
	go h.heartbeat()
	return nil
}

// watch subscribes again after the hub's position should it lag.
func (h *hub) watch() {
	defer close(h.done)
	for {
		h.mu.RLock()
		sub := h.sub
		h.mu.RUnlock()
		select {
		case <-sub.Done():
		case <-h.b.streams:
			return
		}
		if !errors.Is(sub.Err(), relay.ErrLagged) {
			return
		}
		h.mu.RLock()
		after := h.pos
		h.mu.RUnlock()
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
	h.mu.RLock()
	sub := h.sub
	h.mu.RUnlock()
	if sub != nil {
		sub.Close()
		<-h.done
		close(h.quit)
		<-h.flushed
		<-h.beaten
	}
}

// deliver appends an entry to the ring, encoded once for every client.
func (h *hub) deliver(d relay.Delivery) {
	e := d.Entry
	enc := h.b.encoded.get(e)
	h.mu.Lock()
	i := (h.first + h.n) % len(h.ring)
	if h.n == len(h.ring) {
		h.evicted = h.ring[h.first].e.ID
		h.first = (h.first + 1) % len(h.ring)
	} else {
		h.n++
	}
	h.bytes += int64(len(enc))
	h.ring[i] = ringEntry{e: e, enc: enc, end: h.bytes}
	h.pos = e.ID
	h.mu.Unlock()
	if h.coalesce <= 0 {
		h.wakeAll()
		return
	}
	signal(h.wake)
}

// flusher wakes the clients once per coalescing window after an append:
// what arrives meanwhile goes out in the same write and flush. It also
// cuts the clients that fell too far behind, releasing a writer blocked on
// a client that stopped reading.
func (h *hub) flusher() {
	defer close(h.flushed)
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
		h.wakeAll()
	}
}

// heartbeat asks every client for a comment each Heartbeat: one timer for
// all of them, not one per client.
func (h *hub) heartbeat() {
	defer close(h.beaten)
	for {
		select {
		case <-h.b.cfg.Clock.After(h.b.cfg.Heartbeat):
		case <-h.quit:
			return
		}
		h.mu.RLock()
		for c := range h.clients {
			c.beat.Store(true)
			signal(c.notify)
		}
		h.mu.RUnlock()
	}
}

func (h *hub) wakeAll() {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for c := range h.clients {
		if c.last.Load() >= h.evicted && (len(c.filter.Agents) > 0 || len(c.filter.Kinds) > 0 || len(c.filter.Whats) > 0) && !h.anyFor(c) {
			continue // nothing for it: moved on without waking its writer
		}
		if h.behind(c) {
			h.cutOff(c)
			continue
		}
		signal(c.notify)
	}
}

// anyFor reports whether the ring holds an entry after c's position that
// c's filter takes; when it does not, c is moved past the ring as read
// would (an agent's dashboard is not woken for every other agent's
// events, nor cut for their bytes). Called with mu held.
func (h *hub) anyFor(c *streamClient) bool {
	last := c.last.Load()
	i := sort.Search(h.n, func(k int) bool { return h.ring[(h.first+k)%len(h.ring)].e.ID > last })
	for ; i < h.n; i++ {
		if matches(c.filter, h.ring[(h.first+i)%len(h.ring)].e) {
			return true
		}
	}
	c.last.Store(max(last, h.pos))
	c.upTo.Store(h.bytes)
	return false
}

// behind: c's unwritten part of the ring exceeds its bound, or the ring
// no longer holds what c has not read. Called with mu held.
func (h *hub) behind(c *streamClient) bool {
	return c.last.Load() < h.evicted || h.bytes-c.upTo.Load() > int64(c.max)
}

// cutOff ends a lagging client: its handler logs and returns, and a write
// blocked on the client is released.
func (h *hub) cutOff(c *streamClient) {
	if c.cut.CompareAndSwap(false, true) {
		signal(c.notify)
		if c.rc != nil {
			_ = c.rc.SetWriteDeadline(time.Now())
		}
	}
}

// read fills batch with the encodings the ring holds after c's position
// that c's filter takes, and moves c past them: n of them, more when the
// batch is full before the ring's end (c is then at the last one taken).
// The encodings are shared and never changed: they are written after the
// lock is released. ok is false when c fell behind (cut).
func (h *hub) read(c *streamClient, batch *[batchLen][]byte) (n int, more, ok bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.behind(c) {
		h.cutOff(c)
		return 0, false, false
	}
	last := c.last.Load()
	i := sort.Search(h.n, func(k int) bool { return h.ring[(h.first+k)%len(h.ring)].e.ID > last })
	for ; i < h.n; i++ {
		re := &h.ring[(h.first+i)%len(h.ring)]
		if !matches(c.filter, re.e) {
			continue
		}
		if n == len(batch) {
			prev := &h.ring[(h.first+i-1)%len(h.ring)]
			c.last.Store(prev.e.ID)
			c.upTo.Store(prev.end)
			return n, true, true
		}
		batch[n] = re.enc
		n++
	}
	// A client may resume from ahead of this relay's feed (an id another
	// relay's journal read already showed it): it never goes back.
	c.last.Store(max(last, h.pos))
	c.upTo.Store(h.bytes)
	return n, false, true
}

// join registers c once the ring holds every entry after its position
// (after, or the hub's position when hasAfter is false) and they fit in
// its bound; false when c must read the journal up to catchUpTo first.
func (h *hub) join(c *streamClient, after int64, hasAfter bool) (joined bool, catchUpTo int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !hasAfter {
		after = h.pos
	}
	if after < h.evicted {
		return false, h.evicted
	}
	// upTo: the ring's bytes up to after, so the bound counts what c has
	// still to write.
	start := func(k int) int64 { re := &h.ring[(h.first+k)%len(h.ring)]; return re.end - int64(len(re.enc)) }
	i := sort.Search(h.n, func(k int) bool { return h.ring[(h.first+k)%len(h.ring)].e.ID > after })
	up := h.bytes
	if i < h.n {
		up = start(i)
	}
	if h.bytes-up > int64(c.max) {
		// More than its bound still to write: joined now it would be cut
		// before a byte, and again at every reconnect. It reads through
		// the feed first, up to where the rest of the ring fits.
		j := i + sort.Search(h.n-i, func(k int) bool { return h.bytes-start(i+k) <= int64(c.max) })
		return false, h.ring[(h.first+j-1)%len(h.ring)].e.ID
	}
	c.last.Store(after)
	c.upTo.Store(up)
	h.clients[c] = struct{}{}
	signal(c.notify) // what the ring holds after its position
	return true, 0
}

// catchUp reads from the journal through the feed what lies between c's
// position and upTo, and moves c to the last entry read (or to upTo once
// everything up to it was read): the encodings to write, in order.
func (h *hub) catchUp(ctx context.Context, c *streamClient, upTo int64) ([][]byte, error) {
	entries, next, err := h.b.feed.Read(ctx, c.last.Load(), c.filter, maxEvents)
	if err != nil {
		return nil, err
	}
	encs := make([][]byte, 0, len(entries))
	for _, e := range entries {
		if e.ID > upTo {
			break // in the ring
		}
		encs = append(encs, h.b.encoded.get(e))
	}
	c.last.Store(max(c.last.Load(), min(next, upTo)))
	return encs, nil
}

func (h *hub) leave(c *streamClient) {
	h.mu.Lock()
	delete(h.clients, c)
	h.mu.Unlock()
}

// heartbeatComment is what a due heartbeat writes.
var heartbeatComment = []byte(": heartbeat\n\n")

// write writes to w what the ring holds for c, batch by batch, then the
// heartbeat if one is due, and flushes; false when the client is gone or
// was cut. The encodings go straight into net/http's buffers: c keeps no
// buffer between writes.
//
// Not inlined: the batch's frame is not the waiting goroutine's.
//
//go:noinline
func (h *hub) write(w http.ResponseWriter, c *streamClient) bool {
	if c.cut.Load() {
		return false
	}
	batch := batches.Get().(*[batchLen][]byte)
	defer batches.Put(batch)
	wrote := false
	for more := true; more; {
		var n int
		var ok bool
		if n, more, ok = h.read(c, batch); !ok {
			return false
		}
		for i, enc := range batch[:n] {
			batch[i] = nil // the pool keeps no encoding alive
			if _, err := w.Write(enc); err != nil {
				return false
			}
		}
		wrote = wrote || n > 0
	}
	if c.beat.Swap(false) {
		if _, err := w.Write(heartbeatComment); err != nil {
			return false
		}
		wrote = true
	}
	return !wrote || c.rc.Flush() == nil
}
