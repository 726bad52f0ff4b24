package crm_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ctirelay/ctirelay/bridges/crm"
	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest"
	"github.com/ctirelay/ctirelay/store/memstore"
)

func TestMain(m *testing.M) {
	// Idle keep-alive connections of the default client are not leaks.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"), goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"))
}

// rig is a relay on memstore: engine, feed and a driver (relaytest's fake
// switch unless one is given).
type rig struct {
	t      testing.TB
	store  *memstore.Store
	fake   *relaytest.Driver
	engine *relay.Engine
	feed   *relay.Feed
	notes  *notes
}

func newRig(t testing.TB, driver relay.Driver) *rig {
	t.Helper()
	return newRigPoll(t, driver, 2*time.Millisecond)
}

// newRigPoll is newRig with the engine's and the feed's fallback poll.
func newRigPoll(t testing.TB, driver relay.Driver, poll time.Duration) *rig {
	t.Helper()
	r := &rig{t: t, store: memstore.New(), notes: &notes{}}
	if driver == nil {
		r.fake = &relaytest.Driver{}
		driver = r.fake
	}
	feed, err := relay.NewFeed(relay.FeedConfig{Store: r.store, PollInterval: poll})
	if err != nil {
		t.Fatal(err)
	}
	r.feed = feed
	e, err := relay.NewEngine(relay.EngineConfig{Node: "node-a", Store: r.store, Driver: driver, SoleRelay: true,
		PollInterval: poll, Committed: feed.Wake})
	if err != nil {
		t.Fatal(err)
	}
	r.engine = e
	if err := feed.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Stop(); feed.Stop() })
	return r
}

// emit sends an event from the fake switch and waits until the journal has it.
func (r *rig) emit(f relay.Frame) {
	r.t.Helper()
	r.fake.Emit(context.Background(), f)
	r.until("event "+f.String()+" in the journal", func() bool { return r.journaled(f.String()) })
	r.flush()
}

// flush returns once every subscriber has handled what the feed read.
func (r *rig) flush() {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.feed.Flush(ctx); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) journaled(frame string) bool {
	j, _ := r.store.Journal(context.Background(), 0, 100000)
	for _, e := range j {
		if e.Frame == frame {
			return true
		}
	}
	return false
}

// until polls cond (no timing assertion: the deadline only ends a hung test).
func (r *rig) until(what string, cond func() bool) {
	r.t.Helper()
	until(r.t, what, cond)
}

func until(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond) // yield; not waiting for time to pass
	}
}

// notes is a Journal that keeps what it is told.
type notes struct {
	mu  sync.Mutex
	all []crm.Note
}

func (n *notes) Note(_ context.Context, x crm.Note) {
	n.mu.Lock()
	n.all = append(n.all, x)
	n.mu.Unlock()
}

func (n *notes) has(what, rule string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, x := range n.all {
		if x.What == what && (rule == "" || x.Rule == rule) {
			return true
		}
	}
	return false
}

func (n *notes) count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.all)
}

func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, req)
}
