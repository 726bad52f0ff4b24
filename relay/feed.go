package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// FeedStore is what a Feed needs of the durable queue: enqueueing commands
// from sources other than T_TTI, reading the journal, and keeping durable
// positions in relay_cursor.
type FeedStore interface {
	Sources
	JournalReader
}

// Feed errors callers branch on.
var (
	// ErrFeedStopped: the feed is stopping or stopped (or was never
	// started); nothing more is taken or delivered. It is an ErrStopped.
	ErrFeedStopped = fmt.Errorf("feed %w", ErrStopped)
	// ErrFeedBusy: the submit queue is full; the messages were not taken.
	ErrFeedBusy = errors.New("feed busy: too many commands waiting to be queued")
	// ErrLagged ends a subscription whose buffer overflowed.
	ErrLagged = errors.New("subscriber lagged: its buffer overflowed")
)

// Defaults of FeedConfig.
const (
	DefaultFeedPoll    = 50 * time.Millisecond
	DefaultFeedBatch   = 1000
	DefaultSubmitBatch = 500
	DefaultSubmitQueue = 10000
	DefaultFeedBuffer  = 4096
	DefaultFeedDrain   = 5 * time.Second
)

// FeedConfig wires a Feed. Zero values take the defaults.
type FeedConfig struct {
	Store    FeedStore
	MaxFrame int // admission limit of Enqueue (DefaultMaxFrame)
	Clock    Clock
	Logger   *slog.Logger
	// PollInterval is the fallback read of the journal when no wake-up
	// came (DefaultFeedPoll).
	PollInterval time.Duration
	// Batch is how many journal entries one read takes (DefaultFeedBatch).
	Batch int
	// SubmitBatch bounds the messages one Enqueue takes (DefaultSubmitBatch).
	SubmitBatch int
	// SubmitQueue bounds the messages waiting for an Enqueue; Submit
	// answers ErrFeedBusy beyond it (DefaultSubmitQueue).
	SubmitQueue int
	// Buffer is a subscriber's default buffer, in entries (DefaultFeedBuffer).
	Buffer int
	// Wakeups, when set, is the store's notifier across processes (e.g. the
	// PostgreSQL store's JournalWakeups): a value means "read now".
	Wakeups <-chan struct{}
	// DrainTimeout bounds what Stop spends delivering what is left
	// (DefaultFeedDrain).
	DrainTimeout time.Duration
}

func (c *FeedConfig) defaults() error {
	if c.Store == nil {
		return errors.New("feed needs a store")
	}
	if c.Clock == nil {
		c.Clock = SystemClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	setDefault(&c.MaxFrame, DefaultMaxFrame)
	setDefault(&c.Batch, DefaultFeedBatch)
	setDefault(&c.SubmitBatch, DefaultSubmitBatch)
	setDefault(&c.SubmitQueue, DefaultSubmitQueue)
	setDefault(&c.Buffer, DefaultFeedBuffer)
	setDefault(&c.PollInterval, DefaultFeedPoll)
	setDefault(&c.DrainTimeout, DefaultFeedDrain)
	return nil
}

// Feed is the process's one door to the durable queue for transports
// (bridges, ctirelay send and tail): Submit enqueues commands and lets the
// caller wait for their replies; Subscribe delivers journal entries in
// journal order. One reader serves every subscriber and every pending
// command: one journal read per poll, whatever their number. It reads when
// woken (Wake, wired to the engine's writer; FeedConfig.Wakeups across
// processes) and every PollInterval otherwise. A subscriber that cannot
// keep up is cut off, never waited for (see Subscription).
//
// A command's replies are complete once the feed has read past them: every
// store writes the replies of one outcome in one transaction, in id order,
// and makes journal ids visible in id order (the PostgreSQL output lock, the
// single SQLite writer), so they are contiguous (store/storetest checks
// it on every dialect). A read that returns fewer
// entries than its limit has seen everything committed, so the last
// command read is complete too.
type Feed struct {
	cfg FeedConfig
	log *slog.Logger

	life    StartStop
	cancel  context.CancelFunc
	wake    chan struct{}
	flushes chan chan struct{}
	// closed when the read loop / the submit loop has returned
	readDone, submitDone chan struct{}

	// The reader's state, guarded by mu; the submit queue too.
	mu       sync.Mutex
	running  bool // started (and not yet stopped)
	stopping bool
	pos      int64                      // last journal id read
	subs     map[*Subscription]struct{} // live
	catching map[*Subscription]struct{} // catching up on their own
	pending  map[int64]*Pending         // by inbox id, until complete
	open     *Pending                   // the command whose replies were read last
	orphans  map[int64]*orphan          // replies read while an Enqueue was under way
	openOrph *orphan
	queue    []*submission
	abandons []int64 // inbox ids whose requester left, for the submit loop
	queued   int     // messages in queue
	enqueues int     // Enqueue calls under way
	subWake  chan struct{}

	cursors cursorBook

	abandoned atomic.Int64 // commands marked abandoned
}

// Abandoned counts the commands the feed marked as abandoned by their
// requester (Pending.Abandon, and WaitedFor ones at Stop).
func (f *Feed) Abandoned() int64 { return f.abandoned.Load() }

// NewFeed validates the configuration.
func NewFeed(cfg FeedConfig) (*Feed, error) {
	if err := cfg.defaults(); err != nil {
		return nil, fmt.Errorf("feed config: %w", err)
	}
	return &Feed{
		cfg: cfg, log: cfg.Logger.With("component", "feed"),
		readDone: make(chan struct{}), submitDone: make(chan struct{}), wake: make(chan struct{}, 1), flushes: make(chan chan struct{}, 16),
		subs: map[*Subscription]struct{}{}, catching: map[*Subscription]struct{}{}, pending: map[int64]*Pending{}, orphans: map[int64]*orphan{},
		subWake: make(chan struct{}, 1),
		cursors: cursorBook{known: map[string]int64{}, dirty: map[string]int64{}},
	}, nil
}

// Start reads the journal head and starts reading after it. ctx ending
// stops the feed. Calling Start again does nothing; after Stop it answers
// ErrFeedStopped (the relay.StartStop contract).
func (f *Feed) Start(ctx context.Context) error {
	err := f.life.Start(ctx, f.start)
	if errors.Is(err, ErrStopped) {
		return ErrFeedStopped
	}
	return err
}

func (f *Feed) start(ctx context.Context) (func(), error) {
	head, err := f.cfg.Store.JournalHead(ctx)
	if err != nil {
		return nil, fmt.Errorf("feed: %w", err)
	}
	loopCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	f.mu.Lock()
	f.pos, f.running, f.cancel = head, true, cancel
	f.mu.Unlock()
	go func() { defer close(f.readDone); f.readLoop(loopCtx) }()
	go func() { defer close(f.submitDone); f.submitLoop(loopCtx) }()
	return f.shutdown, nil
}

// Wake makes the feed read the journal now: the engine calls it after each
// committed write. It never blocks.
func (f *Feed) Wake() { signal(f.wake) }

// Position is the last journal id the feed has read.
func (f *Feed) Position() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pos
}

// Stop refuses new submissions, enqueues those already taken, delivers what
// the journal holds (what the engine wrote while stopping) for up to
// DrainTimeout, ends every subscription (ErrFeedStopped), abandons the
// non-idempotent commands still waiting for replies that were submitted
// through a WaitedFor subscription (see Pending.Abandon), fails every
// command still waiting with ErrFeedStopped and saves the positions. Stop
// it after the engine, so what the engine released untouched is abandoned
// too. Safe to call more than once: every call returns once the feed
// has stopped.
func (f *Feed) Stop() { f.life.Stop() }

// Stopped is closed once the feed has stopped.
func (f *Feed) Stopped() <-chan struct{} { return f.life.Stopped() }

func (f *Feed) shutdown() {
	f.mu.Lock()
	f.stopping = true
	f.mu.Unlock()
	signal(f.subWake) // the submit loop empties its queue and returns
	<-f.submitDone
	ctx, cancel := context.WithTimeout(context.Background(), f.cfg.DrainTimeout)
	defer cancel()
	if err := f.Flush(ctx); err != nil {
		f.log.Warn("deliver what is left at shutdown", "err", err)
	}
	f.cancel()
	<-f.readDone
	f.mu.Lock()
	subs := make([]*Subscription, 0, len(f.subs)+len(f.catching))
	for s := range f.subs {
		subs = append(subs, s)
	}
	for s := range f.catching {
		subs = append(subs, s)
	}
	f.mu.Unlock()
	for _, s := range subs {
		s.end(ErrFeedStopped)
	}
	for _, s := range subs {
		<-s.done
	}
	// Their requesters go with the relay: mark those waited for as
	// abandoned before they fail, after the engine has stopped (run stops
	// it first), so a command it released untouched is marked too.
	f.mu.Lock()
	left := f.abandons // requesters that left after the submit loop returned
	f.abandons = nil
	var gone []int64
	for id, p := range f.pending {
		if p.waitedFor && p.abandonable {
			gone = append(gone, id)
		}
	}
	f.mu.Unlock()
	if len(left) > 0 {
		f.abandon(context.Background(), left, "connection closed", f.cfg.DrainTimeout)
	}
	if len(gone) > 0 {
		f.abandon(context.Background(), gone, "relay stopped", f.cfg.DrainTimeout)
	}
	f.mu.Lock()
	for id, p := range f.pending {
		delete(f.pending, id)
		p.finish(ErrFeedStopped)
	}
	f.open = nil
	f.running = false
	f.mu.Unlock()
	f.saveCursors(ctx)
}

// Flush returns once everything committed to the journal before the call
// has been read, handed to every live subscriber's fn, and the positions
// saved; or when ctx ends.
func (f *Feed) Flush(ctx context.Context) error {
	f.mu.Lock()
	running := f.running
	f.mu.Unlock()
	if !running {
		return ErrFeedStopped
	}
	done := make(chan struct{})
	select {
	case f.flushes <- done:
	case <-f.readDone:
		return ErrFeedStopped
	case <-ctx.Done():
		return ctx.Err()
	}
	signal(f.wake)
	select {
	case <-done:
	case <-f.readDone:
		return ErrFeedStopped
	case <-ctx.Done():
		return ctx.Err()
	}
	// Everything read is in the live subscribers' buffers: wait for each
	// to have handed it on. Those catching up cover at least as much once
	// they join.
	f.mu.Lock()
	marks := make([]func(context.Context) error, 0, len(f.subs)+len(f.catching))
	for s := range f.subs {
		marks = append(marks, s.flushMark())
	}
	for s := range f.catching {
		marks = append(marks, func(ctx context.Context) error {
			select {
			case <-s.joined:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}
	f.mu.Unlock()
	for _, wait := range marks {
		if err := wait(ctx); err != nil {
			return err
		}
	}
	f.saveCursors(ctx)
	return nil
}

// readLoop reads the journal until ctx ends.
func (f *Feed) readLoop(ctx context.Context) {
	failures := 0
	var flushes []chan struct{}
	for {
		// Flush requests made before this round began are served by it.
	take:
		for {
			select {
			case c := <-f.flushes:
				flushes = append(flushes, c)
			default:
				break take
			}
		}
		err := f.round(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			failures++
			f.log.Warn("read journal", "err", err, "failures", failures)
		default:
			failures = 0
			for _, c := range flushes {
				close(c)
			}
			flushes = flushes[:0]
			f.saveCursors(ctx)
		}
		wait := f.cfg.PollInterval
		if failures > 0 {
			// ride out a database restart without spinning
			wait = retryDelay(failures)
		}
		select {
		case <-ctx.Done():
			return
		case <-f.wake:
		case <-f.cfg.Wakeups:
		case <-f.cfg.Clock.After(wait):
		}
	}
}

// round reads until a read returns less than a batch: everything committed
// when it began has then been seen.
func (f *Feed) round(ctx context.Context) error {
	for {
		f.mu.Lock()
		after, kinds := f.pos, f.kinds()
		f.mu.Unlock()
		entries, err := f.cfg.Store.JournalSince(ctx, after, kinds, f.cfg.Batch)
		if err != nil {
			return err
		}
		full := len(entries) >= f.cfg.Batch
		f.dispatch(entries, full)
		if !full {
			return nil
		}
	}
}

// kinds is what one read takes for everyone: replies (for pending
// commands) and every kind a subscriber filters on; nil (every kind) when
// one takes all. Called with mu held.
func (f *Feed) kinds() []string {
	kinds := []string{KindReply}
	for s := range f.subs {
		if len(s.filter.Kinds) == 0 {
			return nil
		}
		for _, k := range s.filter.Kinds {
			if !slices.Contains(kinds, k) {
				kinds = append(kinds, k)
			}
		}
	}
	return kinds
}

// dispatch hands entries on in journal order: replies to their pending
// commands, every entry to the live subscribers whose filter takes it.
func (f *Feed) dispatch(entries []JournalEntry, full bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range entries {
		reply := e.Kind == KindReply && e.InboxID != 0
		if f.open != nil && (!reply || e.InboxID != f.open.ID) {
			f.complete(f.open)
			f.open = nil
		}
		if f.openOrph != nil && (!reply || e.InboxID != f.openOrph.id) {
			f.openOrph.complete = true
			f.openOrph = nil
		}
		var own *Subscription // the subscription that submitted the command
		if reply {
			if p := f.pending[e.InboxID]; p != nil {
				p.replies = append(p.replies, e)
				f.open = p
				if s := p.sub; s != nil && s.live {
					own = s
					s.push(item{entry: e, pending: p})
				}
			} else if f.enqueues > 0 {
				f.orphan(e)
			}
		}
		for s := range f.subs {
			if s != own && s.live && s.filter.match(e) {
				s.push(item{entry: e})
			}
		}
		f.pos = e.ID
	}
	// A read cut short holds every row committed so far, so the last
	// command's replies are complete; a full one may continue in the next.
	if !full {
		if f.open != nil {
			f.complete(f.open)
			f.open = nil
		}
		if f.openOrph != nil {
			f.openOrph.complete = true
			f.openOrph = nil
		}
	}
}

// complete ends a pending command whose replies have all been read. One
// submitted through a live subscription completes once that subscription
// has handed its replies on. Called with mu held.
func (f *Feed) complete(p *Pending) {
	delete(f.pending, p.ID)
	if s := p.sub; s != nil && s.live && s.push(item{complete: p}) {
		return
	}
	p.finish(nil)
}
