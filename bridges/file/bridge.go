package spool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// subscriberName is the bridge's named feed subscription: every journal
// entry before its position has been written to its user's Rx file.
const subscriberName = "file"

// followed: the replies to the spool's commands and the events of the
// logins bound to its users.
var followed = relay.Filter{Kinds: []string{relay.KindReply, relay.KindEvent}}

// Bridge is the SIGACTI file bridge. New, then Start; Quiesce and Stop at
// shutdown.
type Bridge struct {
	cfg Config
	log *slog.Logger

	life      relay.StartStop
	cancel    context.CancelFunc
	done      chan struct{}
	quiescing atomic.Bool

	stats   counters
	summary saved // guarded by mu

	// mu guards the users, the bindings and the subscription's state.
	mu        sync.Mutex
	users     map[string]*user  // by key(user)
	logins    map[string]string // lower-case login → key(user)
	delivered int64             // last journal id handed to deliver
	sub       *relay.Subscription
	serving   bool

	// The scanner's own state (one goroutine).
	wakeWriter chan struct{}

	ignored    map[string]bool // names logged once
	dirents    []byte          // readNames' buffer
	quiet      quietTx
	incomplete map[string]waiting // files not yet complete, by name
}

// user is what the bridge knows of one user code.
type user struct {
	name   string // as spelled in its files
	login  string // bound login ("" when none)
	static bool   // bound by Config.Users
	bindAt int64  // inbox id of the L ON (or L OFF) that set login

	pending []answer // to write, in journal order
	queued  int64    // last journal id put in pending (or written)
	written int64    // last journal id whose file was renamed (durable)
	txDone  int64    // identity of the last Tx file enqueued (durable)
	// txLeft: that file may still be in Tx (found at load, or its removal
	// failed). Only then does a file of the same identity count as taken:
	// once the bridge has removed it, a file of the same name is new, even
	// with the same modification time (a coarse clock: FAT's 2 s, a
	// kernel tick).
	txLeft bool

	attempts int       // failed renames in a row
	nextTry  time.Time // after a failed rename
	lastErr  string
	stuckAt  time.Time // rename_attempts last ran out
	wroteAt  time.Time // last renamed
	saved    savedUser // its summary in relay_cursor
}

// answer is one frame for a user's Rx file, from the journal (the
// bridge's own refusals too: the store answers them in order).
type answer struct {
	id    int64
	frame relay.Frame
	at    time.Time
}

type waiting struct {
	size  int64
	mtime time.Time
	since time.Time
}

// New validates the configuration.
func New(cfg Config) (*Bridge, error) {
	if err := cfg.defaults(); err != nil {
		return nil, fmt.Errorf("file bridge: %w", err)
	}
	return &Bridge{cfg: cfg, log: cfg.Logger.With("bridge", "file"), done: make(chan struct{}), wakeWriter: make(chan struct{}, 1),
		users: map[string]*user{}, logins: map[string]string{}, ignored: map[string]bool{}, incomplete: map[string]waiting{}}, nil
}

// Start checks the directories and serves the spool in the background:
// at once when this relay is the only one or the lock is free, otherwise
// once the relay holding it dies. Calling Start again does nothing.
func (b *Bridge) Start(ctx context.Context) error { return b.life.Start(ctx, b.start) }

func (b *Bridge) start(ctx context.Context) (func(), error) {
	if err := CheckDir(b.cfg.TxDir); err != nil {
		return nil, fmt.Errorf("file bridge: tx_dir: %w", err)
	}
	if err := CheckDir(b.cfg.RxDir); err != nil {
		return nil, fmt.Errorf("file bridge: rx_dir: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	b.cancel = cancel
	go func() { defer close(b.done); b.run(runCtx) }()
	return b.shutdown, nil
}

// CheckDir says whether dir is a directory the bridge can create files in.
func CheckDir(dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	f, err := os.CreateTemp(dir, tempPrefix+"check-*"+tempExt)
	if err != nil {
		return fmt.Errorf("%s is not writable: %w", dir, err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// Quiesce stops taking request files; answers still flow.
func (b *Bridge) Quiesce() { b.quiescing.Store(true) }

// Stop stops taking files, writes what the feed delivered (one try: an Rx
// file still there keeps its successors for the next start), saves the
// positions and gives the lock back. Safe twice.
func (b *Bridge) Stop() { b.life.Stop() }

func (b *Bridge) shutdown() {
	b.Quiesce()
	b.cancel()
	<-b.done
	b.log.Info("stopped")
}

// run serves the spool each time it holds the lock, until ctx ends.
func (b *Bridge) run(ctx context.Context) {
	first := true
	for {
		lost, release, immediate, err := b.acquire(ctx)
		if err != nil {
			return
		}
		// The document's on_start rule is for leftovers of a relay that
		// stopped; a takeover finds the live requests of one that died.
		onStart := OnStartIngest
		if first && immediate {
			onStart = b.cfg.OnStart
		}
		first = false
		sctx, cancel := context.WithCancel(ctx)
		if lost != nil {
			go func() {
				select {
				case <-lost:
					b.log.Error("lost the spool lock; another relay may take over", "lock", b.cfg.LockName)
					cancel()
				case <-sctx.Done():
				}
			}()
		}
		err = b.serve(sctx, onStart)
		cancel()
		release()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			b.log.Error("serving stopped; trying again", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-b.cfg.Clock.After(b.cfg.LockRetry):
			}
		}
	}
}

// acquire takes the spool's lock; immediate says nobody held it.
func (b *Bridge) acquire(ctx context.Context) (lost <-chan struct{}, release func(), immediate bool, err error) {
	if b.cfg.Locker == nil {
		return nil, func() {}, true, ctx.Err()
	}
	held, lost, release, err := b.cfg.Locker.TryLock(ctx, b.cfg.LockName)
	if err == nil && held {
		b.log.Info("serving the spool", "lock", b.cfg.LockName)
		return lost, release, true, nil
	}
	gate := relay.LockGate{Locker: b.cfg.Locker, Name: b.cfg.LockName, Retry: b.cfg.LockRetry, Clock: b.cfg.Clock, Logger: b.log}
	lost, release, err = gate.Acquire(ctx)
	if err != nil {
		return nil, nil, false, err
	}
	b.log.Info("took the spool over", "lock", b.cfg.LockName)
	return lost, release, false, nil
}

// serve runs one term as the spool's writer: state loaded, leftovers
// handled, then scanning Tx and writing Rx until ctx ends.
func (b *Bridge) serve(ctx context.Context, onStart string) error {
	b.removeStaleTemps()
	if err := b.load(ctx); err != nil {
		return err
	}
	if onStart == OnStartPurge {
		b.purge(ctx)
	}
	if err := b.subscribe(); err != nil {
		return err
	}
	b.mu.Lock()
	b.serving = true
	b.mu.Unlock()
	b.log.Info("taking requests", "tx_dir", b.cfg.TxDir, "rx_dir", b.cfg.RxDir, "on_start", onStart)
	defer func() {
		b.mu.Lock()
		b.serving = false
		sub := b.sub
		b.sub = nil
		b.mu.Unlock()
		// What the feed delivered up to now (at shutdown, what the engine
		// wrote while stopping) gets one more try.
		b.writeAnswers(context.WithoutCancel(ctx), true)
		b.saveSummary(ctx, true)
		sub.Close()
	}()
	// Answers are written as soon as the feed delivers them, not at the
	// next scan; the writer also looks every scan_interval for the Rx
	// files SIGACTI has read and for renames to try again.
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() {
		for {
			b.writeAnswers(ctx, false)
			select {
			case <-ctx.Done():
				return
			case <-b.wakeWriter:
			case <-b.cfg.Clock.After(b.cfg.ScanInterval):
			}
		}
	})
	for {
		// scan_interval is the period of the scans, not the gap between
		// them: a scan that took long is followed at once.
		began := b.cfg.Clock.Now()
		if !b.quiescing.Load() {
			b.scan(ctx)
		}
		b.resubscribeIfLagged()
		b.saveSummary(ctx, false)
		select {
		case <-ctx.Done():
			return nil
		case <-b.cfg.Clock.After(max(b.cfg.ScanInterval-b.cfg.Clock.Now().Sub(began), 0)):
		}
	}
}

func (b *Bridge) subscribe() error {
	sub, err := b.cfg.Feed.Subscribe(subscriberName, followed, b.deliver, relay.ManualAck(), relay.Buffer(1<<16))
	if err != nil {
		return fmt.Errorf("file bridge: subscribe: %w", err)
	}
	b.mu.Lock()
	b.sub = sub
	b.mu.Unlock()
	return nil
}

// resubscribeIfLagged subscribes again from the acknowledged position when
// the subscription overflowed: entries already queued are skipped by id.
func (b *Bridge) resubscribeIfLagged() {
	b.mu.Lock()
	sub := b.sub
	b.mu.Unlock()
	select {
	case <-sub.Done():
	default:
		return
	}
	if !errors.Is(sub.Err(), relay.ErrLagged) {
		return
	}
	b.log.Warn("lagged behind the journal; reading again from the last entry written")
	if err := b.subscribe(); err != nil {
		b.log.Error("subscribe again", "err", err)
	}
}

// Temporary files of the bridge's own in Rx: never <user>.CTI, so SIGACTI
// never opens one.
const (
	tempPrefix = "ctirelay-"
	tempExt    = ".tmp"
)

// removeStaleTemps removes the temporary files a crash left in Rx.
func (b *Bridge) removeStaleTemps() {
	ents, err := os.ReadDir(b.cfg.RxDir)
	if err != nil {
		b.log.Warn("list rx_dir", "err", err)
		return
	}
	for _, e := range ents {
		if n := e.Name(); strings.HasPrefix(n, tempPrefix) && strings.HasSuffix(n, tempExt) {
			if err := os.Remove(filepath.Join(b.cfg.RxDir, n)); err == nil {
				b.log.Info("removed a stale temporary file", "file", n)
			}
		}
	}
}
