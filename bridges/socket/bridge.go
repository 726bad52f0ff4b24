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
	"github.com/ctirelay/ctirelay/relay"
)

// ErrStopped is returned by Start after Stop (relay.ErrStopped).
var ErrStopped = relay.ErrStopped

// drainTimeout bounds Stop: delivering what the engine wrote while it
// stopped, flushing connections and saving positions.
const drainTimeout = 5 * time.Second

// followed are the journal entries the bridge is handed besides the
// replies to its own commands: events for its connections.
var followed = relay.Filter{Kinds: []string{relay.KindEvent}}

// Bridge is the socket bridge. New, then Start; Quiesce and Stop at
// shutdown.
type Bridge struct {
	cfg     Config
	log     *slog.Logger
	srv     *tactiumserver.Server
	feed    *relay.Feed
	ownFeed bool

	life     relay.StartStop
	ctx      context.Context // ends at Stop
	cancel   context.CancelFunc
	watched  chan struct{}  // closed when the subscription watcher returned
	stopping atomic.Bool    // new commands are refused
	qmu      sync.Mutex     // orders stopping with waiting.Add
	waiting  sync.WaitGroup // commands between Submit and their answer

	sub atomic.Pointer[relay.Subscription]

	// What the delivery knows, and what REPLAY reads to cut between the
	// replayed events and the live ones. Held while an entry is handed on.
	fmu    sync.Mutex
	pos    int64                             // last journal id handed to the bridge
	start  int64                             // the feed's position at Start
	states map[*tactiumserver.Session]*state // per connection
}

// New validates the configuration.
func New(cfg Config) (*Bridge, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	b := &Bridge{
		cfg: cfg, log: cfg.Logger.With("bridge", "socket"), feed: cfg.Feed,
		states: map[*tactiumserver.Session]*state{},
	}
	if b.feed == nil {
		f, err := relay.NewFeed(relay.FeedConfig{Store: cfg.Store, MaxFrame: cfg.MaxFrame, Clock: cfg.Clock,
			Logger: b.log, PollInterval: cfg.PollInterval, Batch: cfg.Batch})
		if err != nil {
			return nil, fmt.Errorf("socket bridge: %w", err)
		}
		b.feed, b.ownFeed = f, true
	}
	b.srv = &tactiumserver.Server{
		Addr: cfg.Addr, Backend: b, Limits: cfg.Limits, TLS: cfg.TLS, AdminSecret: cfg.AdminSecret,
		Charset: cfg.Charset, Logger: b.log, Clock: cfg.Clock,
	}
	return b, nil
}

// Start subscribes to the feed from its head and listens, until Stop or the
// end of ctx (relay.StartStop's contract: pass context.WithoutCancel to keep
// the stop order of a relay's shutdown in the caller's hands).
func (b *Bridge) Start(ctx context.Context) error { return b.life.Start(ctx, b.open) }

func (b *Bridge) open(ctx context.Context) (func(), error) {
	if b.ownFeed {
		if err := b.feed.Start(context.WithoutCancel(ctx)); err != nil {
			return nil, fmt.Errorf("socket bridge: %w", err)
		}
	}
	b.ctx, b.cancel = context.WithCancel(context.WithoutCancel(ctx))
	fail := func(err error) error {
		b.cancel()
		b.stopOwnFeed()
		return fmt.Errorf("socket bridge: %w", err)
	}
	b.fmu.Lock() // deliveries wait for the start position
	sub, err := b.feed.Subscribe("", followed, b.deliver, relay.Buffer(b.cfg.Buffer), relay.WaitedFor())
	if err == nil {
		b.sub.Store(sub)
		b.pos, b.start = sub.Position(), sub.Position()
	}
	b.fmu.Unlock()
	if err != nil {
		return nil, fail(err)
	}
	// The server stops with the bridge, in the bridge's order, not with ctx.
	if err := b.srv.Start(context.WithoutCancel(ctx)); err != nil {
		sub.Close()
		return nil, fail(err)
	}
	b.watched = make(chan struct{})
	go b.watch(b.ctx)
	b.log.Info("listening", "addr", b.srv.ListenAddr().String(), "journal_position", b.start)
	return b.close, nil
}

func (b *Bridge) stopOwnFeed() {
	if b.ownFeed {
		b.feed.Stop()
	}
}

// watch subscribes again after what was delivered when the subscription
// lagged, until ctx ends or the feed stops.
func (b *Bridge) watch(ctx context.Context) {
	defer close(b.watched)
	for {
		sub := b.sub.Load()
		select {
		case <-ctx.Done():
			return
		case <-sub.Done():
		}
		if !errors.Is(sub.Err(), relay.ErrLagged) {
			return
		}
		b.fmu.Lock()
		after := b.pos
		b.fmu.Unlock()
		next, err := b.feed.Subscribe("", followed, b.deliver, relay.Buffer(b.cfg.Buffer), relay.After(after), relay.WaitedFor())
		if err != nil {
			b.log.Error("subscribe again after lagging", "err", err)
			return
		}
		b.log.Warn("lagged behind the journal; caught up from the last entry delivered", "after", after)
		b.sub.Store(next)
	}
}

// ListenAddr is the address the bridge listens on once started.
func (b *Bridge) ListenAddr() net.Addr { return b.srv.ListenAddr() }

// Stats are the socket server's counts.
func (b *Bridge) Stats() tactiumserver.Stats { return b.srv.Stats() }

// Quiesce makes the bridge answer new commands <login><ERR><SHUTDOWN><…>$
// instead of queueing them, while replies and events still flow: called
// before the engine stops, so a command is never left in the queue for a
// client that is about to be disconnected.
func (b *Bridge) Quiesce() {
	b.qmu.Lock()
	b.stopping.Store(true)
	b.qmu.Unlock()
}

// Stop refuses new commands, delivers the replies and events already in the
// journal (those the engine wrote while stopping; when the process's feed
// has already stopped, it did that), answers the commands still waiting
// <login><ERR><SHUTDOWN><…>$ once the feed has stopped, lets every
// connection write what is queued and closes them. The feed saves the
// delivered positions. Safe to
// call more than once: every call returns once the bridge has stopped.
func (b *Bridge) Stop() {
	b.Quiesce()
	b.life.Stop()
}

// close stops what open started.
func (b *Bridge) close() {
	ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	if err := b.feed.Flush(ctx); err != nil && !errors.Is(err, relay.ErrFeedStopped) {
		b.log.Warn("last journal read at shutdown", "err", err)
	}
	b.cancel()
	<-b.watched
	b.stopOwnFeed()
	select {
	case <-b.feed.Stopped():
		// Commands still waiting are answered ERR SHUTDOWN now: let them
		// be written before the connections close.
		answered := make(chan struct{})
		go func() { b.waiting.Wait(); close(answered) }()
		select {
		case <-answered:
		case <-ctx.Done():
		}
	default:
	}
	b.sub.Load().Close()
	b.srv.Shutdown(ctx)
	b.log.Info("stopped")
}
