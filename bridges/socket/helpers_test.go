package socket

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ctirelay/ctirelay/internal/tactiumtest"
	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
	"github.com/ctirelay/ctirelay/store/memstore"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// rig is a bridge on a store, with the test playing the engine: it claims
// the commands the bridge queued and settles them, and publishes events.
type rig struct {
	t     *testing.T
	store relay.Store
	b     *Bridge
}

// newRig starts a bridge on s (a new memstore when nil).
func newRig(t *testing.T, s relay.Store, cfg Config) *rig {
	t.Helper()
	if s == nil {
		s = memstore.New()
	}
	cfg.Store = s
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = time.Millisecond
	}
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(b.Stop)
	return &rig{t: t, store: s, b: b}
}

// engine is the store seen by the test as the engine sees it.
func (r *rig) engine() relay.Queue { return r.store }

// answer waits for the next command the bridge queued, checks its frame
// and settles it with replies.
func (r *rig) answer(frame string, replies ...relay.Frame) relay.Job {
	r.t.Helper()
	j := r.claim(frame)
	if _, _, err := r.engine().Settle(context.Background(), []relay.Outcome{{Job: j, Kind: relay.Done, Replies: replies}}, time.Now(), relay.ClaimRequest{}); err != nil {
		r.t.Fatalf("Settle: %v", err)
	}
	return j
}

// claim waits for the next command the bridge queued and checks its frame.
func (r *rig) claim(frame string) relay.Job {
	r.t.Helper()
	var jobs []relay.Job
	wait.For(r.t, "a queued command", func() bool {
		var err error
		jobs, err = r.engine().Claim(context.Background(), relay.ClaimRequest{Owner: "test", Limit: 1, Now: time.Now(), LeaseUntil: time.Now().Add(time.Hour)})
		if err != nil {
			r.t.Fatalf("Claim: %v", err)
		}
		return len(jobs) == 1
	})
	j := jobs[0]
	if j.Frame != frame || j.Source != relay.SourceSocket {
		r.t.Fatalf("queued %s %q, want socket %q", j.Source, j.Frame, frame)
	}
	return j
}

// publish records switch events as the engine does.
func (r *rig) publish(events ...relay.Frame) {
	r.t.Helper()
	if err := r.engine().Publish(context.Background(), events, time.Now()); err != nil {
		r.t.Fatalf("Publish: %v", err)
	}
}

// caughtUp waits until the bridge has handed on everything in the journal.
func (r *rig) caughtUp() {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait.Safety)
	defer cancel()
	if err := r.b.feed.Flush(ctx); err != nil {
		r.t.Fatalf("the bridge reading the journal: %v", err)
	}
}

func (r *rig) waitConns(n int) {
	r.t.Helper()
	wait.For(r.t, "the connection count", func() bool { return r.b.Stats().Connections == n })
}

// cursor reads a saved position.
func (r *rig) cursor(name string) int64 {
	r.t.Helper()
	c, _, err := r.store.Cursor(context.Background(), name)
	if err != nil {
		r.t.Fatal(err)
	}
	return c.Position
}

func (r *rig) dial() *tactiumtest.Client {
	r.t.Helper()
	return tactiumtest.Dial(r.t, r.b.ListenAddr().String())
}

// hangUp closes the client's side and waits until the bridge has let go.
func (r *rig) hangUp(c *tactiumtest.Client, left int) {
	r.t.Helper()
	c.Close()
	r.waitConns(left)
}
