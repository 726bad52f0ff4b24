package httpbridge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// maxEvents bounds one long-poll answer.
const maxEvents = 1000

// entryJSON is a journal entry in answers, SSE data and webhook bodies.
type entryJSON struct {
	ID        int64   `json:"id"`
	At        string  `json:"at"`
	Direction string  `json:"direction"`
	Kind      string  `json:"kind"`
	Agent     string  `json:"agent"`
	Frame     string  `json:"frame"`
	Origin    string  `json:"origin,omitempty"`
	What      string  `json:"what,omitempty"` // a note's what: pop, pop-suppressed, …
	InboxID   int64   `json:"inbox_id,omitempty"`
	Outcome   string  `json:"outcome,omitempty"`
	LatencyMS float64 `json:"latency_ms,omitempty"`
}

func toJSON(e relay.JournalEntry) entryJSON {
	return entryJSON{ID: e.ID, At: e.At.UTC().Format(time.RFC3339Nano), Direction: e.Direction, Kind: e.Kind,
		Agent: e.Agent, Frame: e.Frame, Origin: e.Origin, What: noteWhat(e), InboxID: e.InboxID, Outcome: e.Outcome,
		LatencyMS: float64(e.Latency) / float64(time.Millisecond)}
}

// noteWhat is a note's what (its Ref); other kinds' Ref is not shown.
func noteWhat(e relay.JournalEntry) string {
	if e.Kind == relay.KindNote {
		return e.Ref
	}
	return ""
}

func entriesJSON(es []relay.JournalEntry) []entryJSON {
	out := make([]entryJSON, len(es))
	for i, e := range es {
		out[i] = toJSON(e)
	}
	return out
}

var kinds = []string{relay.KindCommand, relay.KindRejected, relay.KindReply, relay.KindEvent, relay.KindNote}

// parseFilter reads agent= and kind= (repeated or comma-separated).
func parseFilter(r *http.Request) (relay.Filter, error) {
	var f relay.Filter
	q := r.URL.Query()
	for _, v := range q["agent"] {
		for a := range strings.SplitSeq(v, ",") {
			if a = strings.TrimSpace(a); a != "" {
				f.Agents = append(f.Agents, a)
			}
		}
	}
	for _, v := range q["kind"] {
		for k := range strings.SplitSeq(v, ",") {
			k = strings.TrimSpace(k)
			if k == "" {
				continue
			}
			if !slices.Contains(kinds, k) && k != KindPop {
				return f, errors.New("kind must be one of command, rejected, reply, event, note, pop")
			}
			f.Kinds = append(f.Kinds, k)
		}
	}
	selectKinds(&f, f.Kinds)
	return f, nil
}

func matches(f relay.Filter, e relay.JournalEntry) bool { return f.Match(e) }

// KindPop selects the screen pops (kind=pop, webhooks' kinds: [pop]): the
// notes whose what is pop (relay.Filter.Whats), which bridges.crm writes
// for each incoming call its screen-pop rules let pop.
const KindPop = "pop"

// selectKinds makes the filter's Kinds of the kinds asked for, where pop
// stands for the pop notes (all notes when note is asked for too).
func selectKinds(f *relay.Filter, ks []string) {
	pop, note := slices.Contains(ks, KindPop), slices.Contains(ks, relay.KindNote)
	f.Kinds = nil
	for _, k := range ks {
		if k != KindPop && !slices.Contains(f.Kinds, k) {
			f.Kinds = append(f.Kinds, k)
		}
	}
	if pop && !note {
		f.Kinds = append(f.Kinds, relay.KindNote)
		f.Whats = []string{KindPop}
	}
}

// parseAfter reads an id (after= or Last-Event-ID); ok is false when absent.
func parseAfter(s string) (int64, bool, error) {
	if s == "" {
		return 0, false, nil
	}
	id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || id < 0 {
		return 0, false, errors.New("after must be a journal id (a non-negative integer)")
	}
	return id, true, nil
}

// getEvents is the long-poll: entries after after= (the head when absent),
// waiting up to wait= for the first when there are none.
func (b *Bridge) getEvents(w http.ResponseWriter, r *http.Request) {
	filter, err := parseFilter(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, codeBadRequest, err.Error())
		return
	}
	after, ok, err := parseAfter(r.URL.Query().Get("after"))
	if err != nil {
		writeError(w, http.StatusBadRequest, codeBadRequest, err.Error())
		return
	}
	if !ok {
		after = b.feed.Position()
	}
	limit := maxEvents
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			writeError(w, http.StatusBadRequest, codeBadRequest, "limit must be a positive integer")
			return
		}
		limit = min(n, maxEvents)
	}
	wait, err := b.parseWait(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, codeBadRequest, err.Error())
		return
	}
	entries, next, err := b.readEvents(r.Context(), after, filter, limit)
	if err == nil && len(entries) == 0 && wait > 0 {
		// Woken by the feed when a matching entry is read, then read again.
		woke := make(chan struct{}, 1)
		sub, serr := b.feed.Subscribe("", filter, func(relay.Delivery) { signal(woke) }, relay.After(next), relay.Buffer(64))
		if serr == nil {
			select {
			case <-woke:
			case <-sub.Done():
			case <-b.cfg.Clock.After(wait):
			case <-r.Context().Done():
			case <-b.streams:
			}
			sub.Close()
			entries, next, err = b.readEvents(r.Context(), next, filter, limit)
		}
	}
	if err != nil {
		b.log.Warn("read journal", "err", err)
		writeError(w, http.StatusServiceUnavailable, codeUnavailable, "the journal could not be read; retry")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": entriesJSON(entries), "next": next})
}

// readEvents reads matching entries after after, up to limit, through the
// feed: never beyond what the feed has read, so a poll never sees an entry
// before the stream does. next is where the following poll starts.
func (b *Bridge) readEvents(ctx context.Context, after int64, f relay.Filter, limit int) ([]relay.JournalEntry, int64, error) {
	return b.feed.Read(ctx, after, f, limit)
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// stream serves Server-Sent Events: one event per journal entry, id: its
// journal id. A client that falls StreamBytes behind is cut off (it
// resumes with Last-Event-ID): memory per client stays bounded.
//
// A client's goroutine keeps the stack its deepest call grew, for as long
// as it is connected: the collector cannot shrink it while it waits here,
// since net/http's conn.serve alone takes more of an 8 KiB stack than a
// shrink allows. So the set-up (openStream, with net/http's 2.8 KiB
// writeHeader frame and a catch-up through the store) runs on a goroutine
// of its own (setUpStream), the frames here and in the guard are small and
// the writes are hub.write's: a write fits in 4 KiB.
func (b *Bridge) stream(w http.ResponseWriter, r *http.Request) {
	c := b.setUpStream(w, r)
	if c == nil {
		return
	}
	defer b.closeStream(c)
	done := r.Context().Done()
	for {
		// Once per coalescing window (the hub's flusher), for the
		// heartbeat, or to be cut.
		select {
		case <-c.notify:
		case <-done:
			return
		case <-b.streams:
			return
		}
		if !b.hub.write(c.w, c) {
			b.lagged(c, r)
			return
		}
	}
}

// setUpStream runs openStream on a goroutine of its own, which ends with
// it: the first write's headers and a catch-up grow that goroutine's
// stack, not the one the client keeps (see stream).
//
//go:noinline
func (b *Bridge) setUpStream(w http.ResponseWriter, r *http.Request) *streamClient {
	type opening struct {
		c        *streamClient
		panicked any
	}
	opened := make(chan opening, 1)
	go func() {
		// A panic goes back to the handler's goroutine, where net/http
		// recovers it, as it would have without this goroutine.
		defer func() {
			if p := recover(); p != nil {
				opened <- opening{panicked: p}
			}
		}()
		opened <- opening{c: b.openStream(w, r)}
	}()
	o := <-opened
	if o.panicked != nil {
		panic(o.panicked)
	}
	return o.c
}

// closeStream is out of line, as the deferred call's frame would be
// stream's.
//
//go:noinline
func (b *Bridge) closeStream(c *streamClient) {
	b.hub.leave(c)
	b.m.streams.Dec()
}

// innermost is the ResponseWriter under w's wrappers (Unwrap).
func innermost(w http.ResponseWriter) http.ResponseWriter {
	for {
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return w
		}
		w = u.Unwrap()
	}
}

// openStream answers an error and returns nil, or sends the head and what
// the client must read from the journal before it joins the hub's ring,
// and returns the client joined.
//
// Not inlined: its frame is not stream's.
//
//go:noinline
func (b *Bridge) openStream(w http.ResponseWriter, r *http.Request) *streamClient {
	filter, err := parseFilter(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, codeBadRequest, err.Error())
		return nil
	}
	from := r.Header.Get("Last-Event-ID")
	if from == "" {
		from = r.URL.Query().Get("after")
	}
	after, ok, err := parseAfter(from)
	if err != nil {
		writeError(w, http.StatusBadRequest, codeBadRequest, err.Error())
		return nil
	}
	rc := http.NewResponseController(w)
	// The stream outlives the server's timeouts, which guard every other route.
	if err := rc.SetWriteDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
		writeError(w, http.StatusInternalServerError, codeInternal, "cannot stream")
		return nil
	}
	_ = rc.SetReadDeadline(time.Time{})
	// One subscription and one ring of encoded entries (the hub) serve
	// every client: each has only its position, bounded in bytes behind.
	c := newStreamClient(filter, b.cfg.StreamBytes, rc)
	if b.stopping.Load() {
		writeError(w, http.StatusServiceUnavailable, codeUnavailable, "the relay is stopping")
		return nil
	}
	c.last.Store(after)
	var encs [][]byte
	joined, upTo := b.hub.join(c, after, ok)
	if !joined {
		// Behind the ring: the first page from the journal before the
		// answer, so a database that does not answer is a 503.
		if encs, err = b.hub.catchUp(r.Context(), c, upTo); err != nil {
			b.dbError(w, "read journal", err)
			return nil
		}
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := io.WriteString(w, retryHead); err != nil || !writeAll(w, rc, encs) {
		b.hub.leave(c)
		return nil
	}
	for !joined {
		if joined, upTo = b.hub.join(c, c.last.Load(), true); joined {
			break
		}
		if encs, err = b.hub.catchUp(r.Context(), c, upTo); err != nil {
			b.log.Warn("SSE client catching up: read journal; it resumes with Last-Event-ID", "client", r.RemoteAddr, "err", err)
			return nil
		}
		if len(encs) > 0 && !writeAll(w, rc, encs) {
			return nil
		}
	}
	// The writes skip the wrappers (the guard's status is recorded): one
	// frame fewer on the write path.
	c.w = innermost(w)
	b.m.streams.Inc()
	return c
}

// retryHead opens every stream: the reconnection delay.
var retryHead = "retry: " + strconv.FormatInt(DefaultRetry.Milliseconds(), 10) + "\n\n"

func writeAll(w http.ResponseWriter, rc *http.ResponseController, encs [][]byte) bool {
	for _, enc := range encs {
		if _, err := w.Write(enc); err != nil {
			return false
		}
	}
	return rc.Flush() == nil
}

// lagged logs and counts a client cut for being too slow (a write that
// failed because the hub cut it counts too). Out of line: the log call's
// frame would be stream's.
//
//go:noinline
func (b *Bridge) lagged(c *streamClient, r *http.Request) {
	if !c.cut.Load() {
		return
	}
	b.log.Warn("SSE client too slow, disconnected; it resumes with Last-Event-ID", "client", r.RemoteAddr, "last_written", c.last.Load(), "limit_bytes", b.cfg.StreamBytes)
	b.m.streamsCut.Inc()
}

// appendEvent writes one SSE event. The data is one line of JSON, which
// is always valid UTF-8 (invalid bytes become U+FFFD).
func appendEvent(buf *bytes.Buffer, e relay.JournalEntry) {
	data := encodeEntry(e)
	buf.WriteString("id: ")
	buf.WriteString(strconv.FormatInt(e.ID, 10))
	buf.WriteString("\nevent: ")
	buf.WriteString(e.Kind)
	buf.WriteString("\ndata: ")
	buf.Write(data)
	buf.WriteString("\n\n")
}

// encodeEntry is an entry's JSON as the REST answers carry it: frames are
// <…>, so not HTML-escaped (json.Marshal would write \u003c).
func encodeEntry(e relay.JournalEntry) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(toJSON(e))
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// eventCache keeps the SSE encoding of recent entries: every stream client
// is handed the same entries, encoded once.
type eventCache struct {
	mu   sync.Mutex
	byID map[int64][]byte
	ring []int64
	next int
}

func newEventCache(n int) *eventCache {
	return &eventCache{byID: make(map[int64][]byte, n), ring: make([]int64, n)}
}

func (c *eventCache) get(e relay.JournalEntry) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b, ok := c.byID[e.ID]; ok {
		return b
	}
	var buf bytes.Buffer
	appendEvent(&buf, e)
	if old := c.ring[c.next]; old != 0 {
		delete(c.byID, old)
	}
	c.ring[c.next] = e.ID
	c.next = (c.next + 1) % len(c.ring)
	c.byID[e.ID] = buf.Bytes()
	return buf.Bytes()
}
