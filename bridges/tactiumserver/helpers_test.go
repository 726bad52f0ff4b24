package tactiumserver

import (
	"context"
	"crypto/tls"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ctirelay/ctirelay/internal/tactiumtest"
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

// dial connects a test client to srv.
func dial(t testing.TB, srv *Server) *tactiumtest.Client {
	t.Helper()
	return tactiumtest.Dial(t, srv.ListenAddr().String())
}

func dialTLS(t testing.TB, srv *Server, cfg *tls.Config) *tactiumtest.Client {
	t.Helper()
	return tactiumtest.DialTLS(t, srv.ListenAddr().String(), cfg)
}
