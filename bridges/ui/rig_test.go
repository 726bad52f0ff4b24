package ui

import (
	"bufio"
	"context"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	httpbridge "github.com/ctirelay/ctirelay/bridges/http"
	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest"
	"github.com/ctirelay/ctirelay/store/memstore"
)

// countingStore counts the summary's reads, to show that viewers do not
// multiply them.
type countingStore struct {
	*memstore.Store
	status, agents, dead, nodes, backlog, runs atomic.Int64
}

func (c *countingStore) Backlog(ctx context.Context, unread int64) (relay.Backlog, error) {
	c.backlog.Add(1)
	return c.Store.Backlog(ctx, unread)
}

func (c *countingStore) JobRuns(ctx context.Context, job string, limit int) ([]relay.JobRun, error) {
	c.runs.Add(1)
	return c.Store.JobRuns(ctx, job, limit)
}

func (c *countingStore) Status(ctx context.Context, now time.Time) (relay.QueueStatus, error) {
	c.status.Add(1)
	return c.Store.Status(ctx, now)
}

func (c *countingStore) Agents(ctx context.Context, now time.Time) ([]relay.AgentStatus, error) {
	c.agents.Add(1)
	return c.Store.Agents(ctx, now)
}

func (c *countingStore) DeadLetters(ctx context.Context, after int64, limit int) ([]relay.DeadLetter, error) {
	c.dead.Add(1)
	return c.Store.DeadLetters(ctx, after, limit)
}

func (c *countingStore) Nodes(ctx context.Context) ([]relay.Node, error) {
	c.nodes.Add(1)
	return c.Store.Nodes(ctx)
}

// rig is the dashboard over a memstore, its feed and (optionally) an engine
// with a fake switch, mounted at /ui/ on an HTTP bridge as cmd/ctirelay
// mounts it: the bridge's listener, timeouts and tokens.
type rig struct {
	t      testing.TB
	mem    *memstore.Store
	store  *countingStore
	driver *relaytest.Driver
	feed   *relay.Feed
	h      *Handler
	bridge *httpbridge.Bridge
	base   string
}

// bridgeAuth is the bridge's Authorize, known once the bridge is built
// (the bridge takes the dashboard among its mounts).
type bridgeAuth struct{ *httpbridge.Bridge }

type rigOptions struct {
	engine bool
	handle func(context.Context, relay.Command) ([]relay.Frame, error) // the fake switch's answers
	cfg    Config
	tokens []httpbridge.Token // the bridge's; none: open (on loopback)
}

func newRig(t testing.TB, o rigOptions) *rig {
	t.Helper()
	return newRigOn(t, memstore.New(), o)
}

// newRigOn is newRig over a store already holding rows.
func newRigOn(t testing.TB, mem *memstore.Store, o rigOptions) *rig {
	t.Helper()
	r := &rig{t: t, mem: mem, store: &countingStore{Store: mem}}
	ctx := context.Background()
	if err := mem.Heartbeat(ctx, relay.Node{ID: "node-1", Host: "host-a", Version: "v1.2.3", StartedAt: time.Now()}, time.Now()); err != nil {
		t.Fatal(err)
	}
	feed, err := relay.NewFeed(relay.FeedConfig{Store: mem, PollInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := feed.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(feed.Stop)
	r.feed = feed
	if o.engine {
		r.driver = &relaytest.Driver{Handle: o.handle}
		engine, err := relay.NewEngine(relay.EngineConfig{Node: "node-1", Store: mem, Driver: r.driver,
			PollInterval: time.Millisecond, Committed: feed.Wake, MaxAttempts: 1})
		if err != nil {
			t.Fatal(err)
		}
		if err := engine.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(engine.Stop)
	}
	cfg := o.cfg
	cfg.Store, cfg.Nodes, cfg.Feed, cfg.Runs = r.store, r.store, feed, r.store
	auth := &bridgeAuth{}
	cfg.Auth = auth
	if cfg.Interval == 0 {
		cfg.Interval = 50 * time.Millisecond
	}
	if cfg.Version == "" {
		cfg.Version = "test"
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(ctx); err != nil {
		t.Fatal(err)
	}
	r.h = h
	b, err := httpbridge.New(httpbridge.Config{Addr: "127.0.0.1:0", Store: mem, Feed: feed, Tokens: o.tokens,
		Mounts: []httpbridge.Mount{{Pattern: "/ui/", Summary: "the operator dashboard", Handler: h}}})
	if err != nil {
		t.Fatal(err)
	}
	auth.Bridge = b
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	r.bridge, r.base = b, "http://"+b.ListenAddr().String()
	t.Cleanup(b.Stop)
	t.Cleanup(h.Stop) // first: it ends the streams the bridge's Stop waits for
	return r
}

func (r *rig) url(path string) string { return r.base + path }

// client is a browser-like client with a cookie jar.
func (r *rig) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// get fetches a page and returns its body.
func (r *rig) get(c *http.Client, path string) (*http.Response, string) {
	r.t.Helper()
	resp, err := c.Get(r.url(path))
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		b.WriteString(sc.Text())
		b.WriteByte('\n')
	}
	return resp, b.String()
}

// sseEvent is one server-sent event.
type sseEvent struct{ id, name, data string }

// viewer reads a stream's events into a slice.
type viewer struct {
	mu     sync.Mutex
	events []sseEvent
	resp   *http.Response
}

func (v *viewer) count(name string) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	n := 0
	for _, e := range v.events {
		if e.name == name {
			n++
		}
	}
	return n
}

func (v *viewer) all() []sseEvent {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]sseEvent(nil), v.events...)
}

// open starts reading /ui/stream with c's cookie.
func (r *rig) open(c *http.Client, path string) *viewer {
	r.t.Helper()
	resp, err := c.Get(r.url(path))
	if err != nil {
		r.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		r.t.Fatalf("stream: %s", resp.Status)
	}
	v := &viewer{resp: resp}
	r.t.Cleanup(func() { resp.Body.Close() })
	go func() {
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<22)
		var e sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if e.name != "" {
					v.mu.Lock()
					v.events = append(v.events, e)
					v.mu.Unlock()
				}
				e = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				e.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				e.name = line[7:]
			case strings.HasPrefix(line, "data: "):
				e.data += line[6:]
			}
		}
	}()
	return v
}
