package socket

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ctirelay/ctirelay/bridges/tactiumserver"
)

// ErrStopped is returned by Start after Stop.
var ErrStopped = errors.New("socket bridge stopped")

// drainTimeout bounds Stop: delivering what the engine wrote while it
// stopped, flushing connections and saving positions.
const drainTimeout = 5 * time.Second

// Bridge is the socket bridge. New, then Start; Quiesce and Stop at
// shutdown.
type Bridge struct {
	cfg Config
	log *slog.Logger
	srv *tactiumserver.Server

	mu       sync.Mutex // lifecycle
	started  bool
	stopped  bool
	cancel   context.CancelFunc
	loopDone chan struct{}
	halted   chan struct{} // closed when Stop has finished
	stopping atomic.Bool   // new commands are refused

	// The follower's state, and what REPLAY reads to cut between the
	// replayed events and the live ones. Held while events are fanned out.
	fmu       sync.Mutex
	pos       int64                             // last journal id processed
	start     int64                             // journal head at Start
	delivered map[string]int64                  // key -> last event id handed to a connection
	dirty     map[string]int64                  // delivered positions not yet saved
	states    map[*tactiumserver.Session]*state // per connection
	open      *waiter                           // the command whose replies are being read

	// Commands waiting for their reply, by inbox id. Held across Enqueue so
	// the follower cannot read a reply before its waiter is registered.
	wmu     sync.Mutex
	waiters map[int64]*waiter
}

// New validates the configuration.
func New(cfg Config) (*Bridge, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	b := &Bridge{
		cfg: cfg, log: cfg.Logger.With("bridge", "socket"),
		delivered: map[string]int64{}, dirty: map[string]int64{},
		states: map[*tactiumserver.Session]*state{}, waiters: map[int64]*waiter{},
		halted: make(chan struct{}),
	}
	b.srv = &tactiumserver.Server{
		Addr: cfg.Addr, Backend: b, Limits: cfg.Limits, TLS: cfg.TLS, AdminSecret: cfg.AdminSecret,
		Charset: cfg.Charset, Logger: b.log, Clock: cfg.Clock,
	}
	return b, nil
}

// Start follows the journal from its head and listens. ctx ending closes
// every connection; Stop still has to be called. Calling Start again while
// running does nothing.
func (b *Bridge) Start(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped {
		return ErrStopped
	}
	if b.started {
		return nil
	}
	head, err := b.cfg.Store.JournalHead(ctx)
	if err != nil {
		return fmt.Errorf("socket bridge: %w", err)
	}
	b.pos, b.start = head, head
	if err := b.srv.Start(ctx); err != nil {
		return fmt.Errorf("socket bridge: %w", err)
	}
	loopCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	b.cancel, b.loopDone, b.started = cancel, make(chan struct{}), true
	go b.follow(loopCtx)
	b.log.Info("socket bridge listening", "addr", b.srv.ListenAddr().String(), "journal_head", head)
	return nil
}

// ListenAddr is the address the bridge listens on once started.
func (b *Bridge) ListenAddr() net.Addr { return b.srv.ListenAddr() }

// Stats are the socket server's counts.
func (b *Bridge) Stats() tactiumserver.Stats { return b.srv.Stats() }

// Quiesce makes the bridge answer new commands <login><ERR><SHUTDOWN><…>$
// instead of queueing them, while replies and events still flow: called
// before the engine stops, so a command is never left in the queue for a
// client that is about to be disconnected.
func (b *Bridge) Quiesce() { b.stopping.Store(true) }

// Stop refuses new commands, delivers the replies and events already in the
// journal (those the engine wrote while stopping), lets every connection
// write what is queued, closes them and saves the delivered positions. Safe
// to call more than once: every call returns once the bridge has stopped.
func (b *Bridge) Stop() {
	b.mu.Lock()
	if b.stopped {
		b.mu.Unlock()
		<-b.halted
		return
	}
	b.stopped = true
	started := b.started
	b.mu.Unlock()
	defer close(b.halted)
	b.Quiesce()
	if !started {
		b.srv.Stop()
		return
	}
	b.cancel()
	<-b.loopDone
	ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	for {
		full, err := b.poll(ctx)
		if err != nil {
			b.log.Warn("socket bridge: last journal read at shutdown", "err", err)
			break
		}
		if !full {
			break
		}
	}
	b.srv.Shutdown(ctx)
	b.saveCursors(ctx)
	b.log.Info("socket bridge stopped")
}
