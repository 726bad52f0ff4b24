package socket

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store/memstore"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// safety bounds how long a test waits for another goroutine; nothing
// asserts speed.
const safety = 10 * time.Second

// rig is a bridge on a store, with the test playing the engine: it claims
// the commands the bridge queued and settles them, and publishes events.
type rig struct {
	t     *testing.T
	store Store
	b     *Bridge
}

func newRig(t *testing.T, cfg Config) *rig {
	t.Helper()
	if cfg.Store == nil {
		cfg.Store = memstore.New()
	}
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
	return &rig{t: t, store: cfg.Store, b: b}
}

// engine is the store seen by the test as the engine sees it.
func (r *rig) engine() relay.Store { return r.store.(relay.Store) }

// answer waits for the next command the bridge queued, checks its frame
// and settles it with replies.
func (r *rig) answer(frame string, replies ...relay.Frame) relay.Job {
	r.t.Helper()
	j := r.claim(frame)
	if _, err := r.engine().Settle(context.Background(), []relay.Outcome{{Job: j, Kind: relay.Done, Replies: replies}}, time.Now()); err != nil {
		r.t.Fatalf("Settle: %v", err)
	}
	return j
}

// claim waits for the next command the bridge queued and checks its frame.
func (r *rig) claim(frame string) relay.Job {
	r.t.Helper()
	var jobs []relay.Job
	waitFor(r.t, "a queued command", func() bool {
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
	head, err := r.store.JournalHead(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	waitFor(r.t, "the bridge to read the journal", func() bool {
		r.b.fmu.Lock()
		defer r.b.fmu.Unlock()
		return r.b.pos >= head
	})
}

func (r *rig) waitConns(n int) {
	r.t.Helper()
	waitFor(r.t, "the connection count", func() bool { return r.b.Stats().Connections == n })
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

// client is a socket client that checks the bridge's frames exactly.
type client struct {
	t   *testing.T
	nc  net.Conn
	dec *relay.Decoder
}

func (r *rig) dial() *client {
	r.t.Helper()
	nc, err := net.DialTimeout("tcp", r.b.ListenAddr().String(), safety)
	if err != nil {
		r.t.Fatalf("dial: %v", err)
	}
	r.t.Cleanup(func() { nc.Close() })
	return &client{t: r.t, nc: nc, dec: relay.NewDecoder(nc, 1<<20)}
}

func (c *client) send(s string) {
	c.t.Helper()
	if _, err := c.nc.Write([]byte(s)); err != nil {
		c.t.Fatalf("write %q: %v", s, err)
	}
}

// expect reads frames until they make up as many bytes as want, and
// compares.
func (c *client) expect(want string) {
	c.t.Helper()
	_ = c.nc.SetReadDeadline(time.Now().Add(safety))
	var got string
	for len(got) < len(want) {
		f, err := c.dec.Next()
		if err != nil {
			c.t.Fatalf("read %q then %v, want %q", got, err, want)
		}
		got += f.String()
	}
	if got != want {
		c.t.Fatalf("read %q, want %q", got, want)
	}
}

// roundTrip sends a frame and expects the exact answer.
func (c *client) roundTrip(send, want string) {
	c.t.Helper()
	c.send(send)
	c.expect(want)
}

// frames reads n frames.
func (c *client) frames(n int) []string {
	c.t.Helper()
	_ = c.nc.SetReadDeadline(time.Now().Add(safety))
	out := make([]string, 0, n)
	for len(out) < n {
		f, err := c.dec.Next()
		if err != nil {
			c.t.Fatalf("after %d frames: %v", len(out), err)
		}
		out = append(out, f.String())
	}
	return out
}

// expectClosed reads until the bridge closes the connection and returns
// the frames that came first.
func (c *client) expectClosed() []string {
	c.t.Helper()
	_ = c.nc.SetReadDeadline(time.Now().Add(safety))
	var out []string
	for {
		f, err := c.dec.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			c.t.Fatalf("connection not closed by the bridge: %v (read %q)", err, out)
		}
		out = append(out, f.String())
	}
}

// close closes the client's side and waits until the bridge has let go.
func (c *client) close(r *rig, left int) {
	c.t.Helper()
	c.nc.Close()
	r.waitConns(left)
}

// waitFor polls cond until it holds, failing after the safety deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(safety)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
