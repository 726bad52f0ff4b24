package tactium

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ctirelay/ctirelay/relay"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// safety bounds how long a test waits for another goroutine before failing;
// nothing asserts speed.
const safety = 10 * time.Second

// fakeBackend answers S with <login><S><1>$ and everything else OK, unless
// handle says otherwise, and records what it was asked.
type fakeBackend struct {
	mu     sync.Mutex
	cmds   []relay.Command
	handle func(ctx context.Context, cmd relay.Command) ([]relay.Frame, error)
}

func (b *fakeBackend) Command(ctx context.Context, _ *Session, cmd relay.Command) ([]relay.Frame, error) {
	b.mu.Lock()
	b.cmds = append(b.cmds, cmd)
	h := b.handle
	b.mu.Unlock()
	if h != nil {
		return h(ctx, cmd)
	}
	if cmd.Verb == relay.VerbStatus {
		return []relay.Frame{relay.StatusReply(cmd.Login, relay.StateAvailable)}, nil
	}
	return nil, nil
}

func (b *fakeBackend) commands() []relay.Command {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]relay.Command(nil), b.cmds...)
}

// startServer starts srv on a free loopback port with a fakeBackend unless
// one is set, and stops it when the test ends.
func startServer(t testing.TB, srv *Server) *Server {
	t.Helper()
	if srv.Addr == "" {
		srv.Addr = "127.0.0.1:0"
	}
	if srv.Backend == nil {
		srv.Backend = &fakeBackend{}
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(srv.Stop)
	return srv
}

// client is a raw socket client that checks the server's bytes exactly.
type client struct {
	t  testing.TB
	nc net.Conn
}

func dial(t testing.TB, srv *Server) *client {
	t.Helper()
	nc, err := net.DialTimeout("tcp", srv.ListenAddr().String(), safety)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { nc.Close() })
	return &client{t: t, nc: nc}
}

func dialTLS(t testing.TB, srv *Server, cfg *tls.Config) *client {
	t.Helper()
	nc, err := tls.DialWithDialer(&net.Dialer{Timeout: safety}, "tcp", srv.ListenAddr().String(), cfg)
	if err != nil {
		t.Fatalf("dial tls: %v", err)
	}
	t.Cleanup(func() { nc.Close() })
	return &client{t: t, nc: nc}
}

func (c *client) send(s string) {
	c.t.Helper()
	if _, err := c.nc.Write([]byte(s)); err != nil {
		c.t.Fatalf("write %q: %v", s, err)
	}
}

// expect reads exactly len(want) bytes and compares them.
func (c *client) expect(want string) {
	c.t.Helper()
	_ = c.nc.SetReadDeadline(time.Now().Add(safety))
	got := make([]byte, len(want))
	n, err := io.ReadFull(c.nc, got)
	if err != nil || string(got) != want {
		c.t.Fatalf("read %q (err %v), want %q", got[:n], err, want)
	}
}

// roundTrip sends a frame and expects the exact answer.
func (c *client) roundTrip(send, want string) {
	c.t.Helper()
	c.send(send)
	c.expect(want)
}

// expectClosed reads until the server closes the connection; whatever was
// still queued is returned.
func (c *client) expectClosed() []byte {
	c.t.Helper()
	_ = c.nc.SetReadDeadline(time.Now().Add(safety))
	var buf bytes.Buffer
	_, err := io.Copy(&buf, c.nc)
	if err != nil {
		c.t.Fatalf("connection not closed by the server: %v (read %q)", err, buf.Bytes())
	}
	return buf.Bytes()
}

// waitFor polls cond until it holds, failing after the safety deadline.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(safety)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
