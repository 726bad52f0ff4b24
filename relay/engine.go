package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// InDoubtPolicy says what happens to a non-idempotent command (dial, callback,
// call outcome) whose relay died or stopped while the switch had it: nobody
// knows whether the switch carried it out.
type InDoubtPolicy string

const (
	// InDoubtDead dead-letters the command with reason in-doubt and answers
	// ERR IN_DOUBT, so no customer is ever dialled twice. The default.
	InDoubtDead InDoubtPolicy = "dead"
	// InDoubtRetry sends it again, accepting a possible duplicate.
	InDoubtRetry InDoubtPolicy = "retry"
)

// DefaultLease is how long a claimed command is held without renewal when
// EngineConfig.Lease is not set.
const DefaultLease = 30 * time.Second

// EngineConfig wires an Engine. Zero values take the documented defaults.
type EngineConfig struct {
	// Node names the relay (operators give it, e.g. the host name); it may
	// not contain OwnerSep. A name is used by one running relay at a time.
	Node string
	// Incarnation tells this start of Node from its earlier ones (a random
	// one when empty). Leases are held by LeaseOwner(Node, Incarnation):
	// whatever an earlier incarnation of Node held is a dead relay's,
	// reclaimed at Start.
	Incarnation string
	// SoleRelay says no other relay can use the store while this one runs
	// (SQLite's file lock): every lease not this incarnation's belongs to
	// a dead relay and is reclaimed at Start.
	SoleRelay bool

	Store  Queue
	Driver Driver
	Clock  Clock
	Logger *slog.Logger

	MaxInFlight int // commands at the switch at once (256)
	IntakeBatch int // T_TTI rows per intake transaction (1000)
	// MaxInbox bounds the commands taken into the inbox and not yet settled
	// (MaxInFlight + 2 × IntakeBatch; below zero, no bound): enough for every
	// agent's next command to be there when the previous one is settled,
	// while the rest of a backlog waits in T_TTI.
	MaxInbox     int
	WriteBatch   int           // outcomes/events per settle transaction (1000)
	PollInterval time.Duration // fallback poll when no wake-up arrives (100ms)
	Lease        time.Duration // how long a claimed command is held without renewal (30s)
	ExecTimeout  time.Duration // per command at the switch; a timeout is transient (10s)
	MaxAttempts  int           // transient failures before dead-lettering (5)
	Backoff      Backoff       // between transient retries (250ms doubling to 30s)
	InDoubt      InDoubtPolicy // default InDoubtDead
	MaxFrame     int           // bytes (DefaultMaxFrame)
	// ShutdownTimeout bounds how long Stop waits for commands at the switch (10s).
	ShutdownTimeout time.Duration
	// ShutdownGrace bounds, once commands at the switch have finished or
	// been cut off, the writer's last writes and the release of leases
	// (DefaultShutdownGrace). Stop returns within ShutdownTimeout +
	// ShutdownGrace + 1s, whatever the database does, plus the time to write
	// a spill file.
	ShutdownGrace time.Duration
	// SpillDir is where Stop writes the events it could not make durable
	// before its deadline, and where Start looks for such files to publish
	// first. Empty: no spill; such events are logged as lost and counted.
	SpillDir string
	// Active, when set, makes the relay one of several of a switch of
	// which only one may run commands (EPBX: each agent's events come on
	// the connection that runs its commands): the engine takes T_TTI rows
	// into the inbox whatever, but claims and dispatches commands only
	// while it holds Active (e.g. a relay.LockGate). Losing it stops new
	// claims at once; commands already at the switch finish. A driver that
	// implements Standby is told each change. The gate is released once the
	// driver has closed at Stop.
	Active Gate
	// Committed, when set, is called after each committed write to the
	// journal (intake, settle, publish), from the loop that wrote it; it
	// must not block. The process's Feed.Wake: readers see it at once.
	Committed func()
}

func (c *EngineConfig) defaults() error {
	if c.Store == nil || c.Driver == nil {
		return errors.New("engine needs a store and a driver")
	}
	if err := checkNodeName(c.Node); err != nil {
		return err
	}
	if c.Incarnation == "" {
		c.Incarnation = NewIncarnation()
	}
	if c.Clock == nil {
		c.Clock = SystemClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	setDefault(&c.MaxInFlight, 256)
	setDefault(&c.IntakeBatch, 1000)
	setDefault(&c.WriteBatch, 1000)
	if c.MaxInbox == 0 {
		c.MaxInbox = c.MaxInFlight + 2*c.IntakeBatch
	}
	setDefault(&c.MaxAttempts, 5)
	setDefault(&c.MaxFrame, DefaultMaxFrame)
	setDefault(&c.PollInterval, 100*time.Millisecond)
	setDefault(&c.Lease, DefaultLease)
	setDefault(&c.ExecTimeout, 10*time.Second)
	setDefault(&c.ShutdownTimeout, 10*time.Second)
	setDefault(&c.ShutdownGrace, DefaultShutdownGrace)
	setDefault(&c.Backoff.Base, 250*time.Millisecond)
	setDefault(&c.Backoff.Max, 30*time.Second)
	switch c.InDoubt {
	case "":
		c.InDoubt = InDoubtDead
	case InDoubtDead, InDoubtRetry:
	default:
		return fmt.Errorf("unknown in-doubt policy %q (use dead or retry)", c.InDoubt)
	}
	return nil
}

// EngineStats are running totals since Start.
type EngineStats struct {
	Intaken, Claimed, Done, Retried, Dead, Events, Reclaimed int64
	InFlight                                                 int64
	// InDoubt counts the commands answered ERR IN_DOUBT (among Dead).
	InDoubt int64
	// Lost counts replies and events the relay could not keep, each logged
	// with its frame: refused by the database even as dead letters (the
	// writer moved on without them), or not written before shutdown with no
	// spill directory (or a failed spill write). At shutdown also: events
	// written to a spill file, and answers not recorded (left to their
	// command's lease).
	Lost, Spilled, Unsettled int64
}

// Engine moves commands from the durable inbox to the switch and their answers
// back: intake (T_TTI → inbox), claim (head of each agent's queue, leased),
// dispatch (one goroutine per command at the switch, at most MaxInFlight),
// and a single writer that settles outcomes and publishes events in batches.
type Engine struct {
	cfg   EngineConfig
	log   *slog.Logger
	owner string // LeaseOwner(Node, Incarnation)

	life       StartStop
	cancel     context.CancelFunc // stops intake, claim and lease loops
	abort      context.CancelFunc // cuts off commands still at the switch
	loops      sync.WaitGroup     // intake, claim, lease loops
	running    sync.WaitGroup     // commands at the switch
	writerDone chan struct{}      // closed when the writer has flushed everything

	// The writer's database calls run under writeCtx, which Stop ends at
	// its deadline; hard closes abandonAfter later, when the writer stops
	// waiting for a call that ignores the end of its context (calls run on
	// the caller goroutine, fed by calls).
	writeCtx  context.Context
	endWrites context.CancelCauseFunc
	hard      chan struct{}
	calls     chan func()
	callDone  chan struct{}
	wc        writerCall
	// settleCall and publishCall as values made once.
	settleFn, publishFn func()
	// Owned by the writer until writerDone: what it could not write, and
	// whether an abandoned call may still be using the fence.
	spill      []Frame
	unsettled  int
	keepLeases bool // a command was left to its lease (refusedOutcomes)
	fenceTaken bool
	// Events the driver sent while Stop was closing it and the writer had
	// no room, written after the writer's spill (until spillDone).
	stopping  atomic.Bool
	overMu    sync.Mutex
	overflow  []Frame
	spillDone bool

	// sealMu guards sealed: once set, leased commands are not started
	// (Stop no longer waits for them).
	sealMu sync.RWMutex
	sealed bool

	// gate guards claimOpen: a settle leases the next commands only while
	// claiming is open (Stop closes it first); what a settle leased after
	// Stop has sealed the engine is not started.
	gate      sync.RWMutex
	claimOpen bool
	runCtx    context.Context // commands at the switch run under it

	workers *workerPool

	// active is false while EngineConfig.Active is set and not held: no
	// claims. activeRelease gives the gate back (at Stop, after the driver
	// has closed).
	active        atomic.Bool
	activeMu      sync.Mutex
	activeRelease func()

	claimStarved atomic.Bool  // the claim loop waits for free slots
	leftover     atomic.Int64 // intakes that left commands for Claim, so far
	intakeHeld   atomic.Bool  // the intake waits for room in the inbox
	headsDry     atomic.Bool  // the last claim had free slots and found no command ready
	settles      atomic.Int64 // settles applied, so far

	intakeWake chan struct{}
	claimWake  chan struct{}
	// Wake-ups straight from the store (nil when it has none).
	intakeNotify, claimNotify <-chan struct{}
	output                    chan output
	order                     eventOrder // replies before the events their command caused
	fence                     eventFence // ... also when another relay ran the command
	inFlight                  atomic.Int64
	stats                     struct {
		intaken, claimed, done, retried, dead, events, reclaimed atomic.Int64
		inDoubt                                                  atomic.Int64
		spilled, lost, unsettled                                 atomic.Int64
	}

	// outputMu guards closing output against the driver's sink: an event
	// that comes after the writer has closed is refused, not sent.
	outputMu     sync.RWMutex
	outputClosed bool
}

// output is one item for the writer: an outcome or an event.
type output struct {
	outcome *Outcome
	event   Frame
}

// NewEngine validates the configuration.
func NewEngine(cfg EngineConfig) (*Engine, error) {
	if err := cfg.defaults(); err != nil {
		return nil, fmt.Errorf("engine config: %w", err)
	}
	e := &Engine{
		cfg:        cfg,
		log:        cfg.Logger.With("node", cfg.Node),
		owner:      LeaseOwner(cfg.Node, cfg.Incarnation),
		intakeWake: make(chan struct{}, 1),
		claimWake:  make(chan struct{}, 1),
		output:     make(chan output, cfg.MaxInFlight+cfg.WriteBatch),
		writerDone: make(chan struct{}),
		hard:       make(chan struct{}),
		calls:      make(chan func()),
		callDone:   make(chan struct{}, 1),
	}
	e.writeCtx, e.endWrites = context.WithCancelCause(context.Background())
	e.settleFn, e.publishFn = e.settleCall, e.publishCall
	e.fence = eventFence{owner: e.owner, bound: cfg.ExecTimeout, log: e.log}
	if !cfg.SoleRelay {
		// the only relay of its store has every command in eventOrder
		e.fence.probe = cfg.Store
	}
	e.active.Store(cfg.Active == nil)
	// At most MaxInFlight commands run at once, so no more workers are kept.
	e.workers = &workerPool{run: e.run, max: cfg.MaxInFlight}
	return e, nil
}

// Owner is the lease owner of this engine: its node and incarnation.
func (e *Engine) Owner() string { return e.owner }

// Stats returns running totals.
func (e *Engine) Stats() EngineStats {
	return EngineStats{
		Intaken: e.stats.intaken.Load(), Claimed: e.stats.claimed.Load(), Done: e.stats.done.Load(),
		Retried: e.stats.retried.Load(), Dead: e.stats.dead.Load(), Events: e.stats.events.Load(),
		Reclaimed: e.stats.reclaimed.Load(), InFlight: e.inFlight.Load(),
		Spilled: e.stats.spilled.Load(), Lost: e.stats.lost.Load(), Unsettled: e.stats.unsettled.Load(),
		InDoubt: e.stats.inDoubt.Load(),
	}
}

// Start opens the driver and starts the loops. It returns once the driver is
// open; the engine runs until Stop or until ctx ends (StartStop's contract:
// Start after Stop returns ErrStopped).
func (e *Engine) Start(ctx context.Context) error { return e.life.Start(ctx, e.startUp) }

// Stopped is closed once the engine has stopped.
func (e *Engine) Stopped() <-chan struct{} { return e.life.Stopped() }

func (e *Engine) startUp(ctx context.Context) (func(), error) {
	// What an earlier run could not write goes first: before the switch's
	// new events and before any new command.
	if err := e.publishSpills(ctx); err != nil {
		return nil, err
	}
	if err := e.cfg.Driver.Open(ctx, EventSinkFunc(e.event)); err != nil {
		return nil, fmt.Errorf("open driver: %w", err)
	}
	loopCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	runCtx, abort := context.WithCancel(context.WithoutCancel(ctx))
	e.cancel, e.abort = cancel, abort
	e.runCtx, e.claimOpen = runCtx, true
	// the loops wait on these themselves: one hop less per wake-up
	e.intakeNotify, e.claimNotify = e.cfg.Store.Wakeups()
	go e.caller()
	go e.writer()
	e.loops.Add(3)
	if e.cfg.Active != nil {
		e.loops.Add(1)
		go func() { defer e.loops.Done(); e.activeLoop(loopCtx) }()
	}
	go func() { defer e.loops.Done(); e.intakeLoop(loopCtx) }()
	go func() { defer e.loops.Done(); e.claimLoop(loopCtx, runCtx) }()
	go func() { defer e.loops.Done(); e.leaseLoop(loopCtx) }()
	e.log.Info("relay engine started", "lease_owner", e.owner, "max_in_flight", e.cfg.MaxInFlight, "in_doubt", e.cfg.InDoubt)
	return e.shutdown, nil
}

// Stop stops claiming, lets commands at the switch finish for up to
// ShutdownTimeout, settles what they answered, releases what is left and
// closes the driver. Whatever the database does, it returns within
// ShutdownTimeout + ShutdownGrace + 1s (and the time to write a spill file):
// events not written by then are spilled to SpillDir, answers not recorded
// are left to their commands' leases. Safe to call more than once and from
// several goroutines: every call returns once the engine has stopped.
func (e *Engine) Stop() { e.life.Stop() }

// shutdown is Stop's work, run once.
func (e *Engine) shutdown() {
	finished := make(chan struct{})
	defer close(finished)
	t0 := e.cfg.Clock.Now()
	e.stopping.Store(true)
	e.log.Info("relay engine stopping", "shutdown_timeout", e.cfg.ShutdownTimeout.String(), "shutdown_grace", e.cfg.ShutdownGrace.String())
	e.cancel()
	e.gate.Lock()
	e.claimOpen = false
	e.gate.Unlock()
	// The loops' database calls end with their context; one that does not
	// (a server that stopped answering) is not waited for past the timeout.
	timeout, stopTimeout := clockContext(e.cfg.Clock, t0.Add(e.cfg.ShutdownTimeout))
	defer stopTimeout()
	select {
	case <-waitDone(&e.loops):
	case <-timeout.Done():
		e.log.Warn("shutdown timeout: intake, claim or lease loop still in a database call; not waited for")
	}
	e.seal()
	done := waitDone(&e.running)
	select {
	case <-done:
	case <-timeout.Done():
		e.log.Warn("shutdown timeout: cutting off commands still at the switch", "in_flight", e.inFlight.Load())
		e.abort()
	}
	// From here the database gets ShutdownGrace: the writer's last batches
	// and the release of leases. Commands cut off wait for room in the
	// writer's queue, which the writer empties into the spill past it.
	e.armWriteDeadline(minTime(e.cfg.Clock.Now(), t0.Add(e.cfg.ShutdownTimeout)).Add(e.cfg.ShutdownGrace), finished)
	<-done
	e.abort()
	// Nothing dispatches any more: loops and claiming have stopped.
	e.workers.close()
	if err := e.cfg.Driver.Close(); err != nil {
		e.log.Warn("close driver", "err", err)
	}
	// A driver may race Close with a last event: the sink sees outputClosed.
	e.outputMu.Lock()
	e.outputClosed = true
	close(e.output)
	e.outputMu.Unlock()
	<-e.writerDone
	e.overMu.Lock()
	spill := append(e.spill, e.overflow...)
	e.spillDone = true
	e.overMu.Unlock()
	e.writeSpilled(spill, "not written to the database before the shutdown deadline")
	// The gate goes once the driver has closed: the next holder's driver
	// never runs beside this one's.
	e.activeMu.Lock()
	if e.activeRelease != nil {
		e.activeRelease()
		e.activeRelease = nil
	}
	e.activeMu.Unlock()
	e.release()
	e.log.Info("relay engine stopped", "done", e.stats.done.Load(), "dead", e.stats.dead.Load(),
		"spilled", e.stats.spilled.Load(), "unsettled", e.stats.unsettled.Load())
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func (e *Engine) committed() {
	if e.cfg.Committed != nil {
		e.cfg.Committed()
	}
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// event is the driver's sink: events wait in the writer's queue, which
// applies back-pressure to the driver when the database is slow. An event
// after the writer has closed (a driver racing Close with a last event) is
// logged as not recorded.
func (e *Engine) event(ctx context.Context, f Frame) {
	e.order.event(f, func(f Frame) {
		// Read-locked while it waits for room: Stop closes output under the
		// write lock, once the writer has taken what waits.
		e.outputMu.RLock()
		defer e.outputMu.RUnlock()
		if e.outputClosed {
			if !e.holdForSpill(f) {
				e.log.Warn("event after shutdown not recorded", "frame", f.String())
			}
			return
		}
		select {
		case e.output <- output{event: f}:
		case <-ctx.Done():
			// At shutdown, the driver closing while the writer has no room
			// (the database is slow or gone): the event goes to the spill.
			if !e.stopping.Load() || !e.holdForSpill(f) {
				e.log.Warn("event dropped: driver context ended", "frame", f.String())
			}
		}
	})
}

// wait blocks until a wake-up, the poll interval, or the end of ctx.
func (e *Engine) wait(ctx context.Context, wake chan struct{}, d time.Duration) bool {
	return e.waitOr(ctx, wake, nil, d)
}

// waitOr also returns on a wake-up straight from the store (nil: none).
func (e *Engine) waitOr(ctx context.Context, wake chan struct{}, store <-chan struct{}, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-wake:
		return true
	case <-store:
		return true
	case <-e.cfg.Clock.After(d):
		return true
	}
}

// retryDelay grows while the database keeps failing, so a restart is ridden
// out without spinning.
func retryDelay(failures int) time.Duration {
	d := 100 * time.Millisecond << min(failures, 6)
	return min(d, 5*time.Second)
}

// reserve takes up to n of the free in-flight slots and returns how many,
// so the loops that lease commands never together exceed MaxInFlight.
func (e *Engine) reserve(n int) int {
	for {
		cur := e.inFlight.Load()
		take := min(int64(e.cfg.MaxInFlight)-cur, int64(n))
		if take <= 0 {
			return 0
		}
		if e.inFlight.CompareAndSwap(cur, cur+take) {
			return int(take)
		}
	}
}

// unreserve hands back n reserved slots that no command took, and wakes a
// claim loop that found none free meanwhile.
func (e *Engine) unreserve(n int) {
	if n <= 0 {
		return
	}
	e.inFlight.Add(-int64(n))
	if e.claimStarved.Load() {
		signal(e.claimWake)
	}
}

func (e *Engine) intakeLoop(ctx context.Context) {
	failures := 0
	for {
		now := e.cfg.Clock.Now()
		// Polls start PollInterval apart, however long each intake took: a
		// row is never left waiting longer than that for lack of a wake-up.
		nextPoll := now.Add(e.cfg.PollInterval)
		req := IntakeRequest{Limit: e.cfg.IntakeBatch, Now: now, MaxFrame: e.cfg.MaxFrame, MaxInbox: max(e.cfg.MaxInbox, 0)}
		if e.headsDry.Swap(false) {
			// Slots are free and no agent has a command ready: the inbox
			// holds only commands queued behind others of their agent (one
			// busy agent can fill it). The bound must not keep every other
			// agent's rows in T_TTI, so this batch is taken whatever it is.
			req.MaxInbox = 0
		}
		var n int
		var jobs []Job
		var err error
		room := 0
		settles := e.settles.Load()
		if !e.claimStarved.Load() && e.active.Load() {
			// A claim loop waiting for free slots goes first: the intake
			// runs back to back through a backlog and would keep them all.
			room = e.reserve(e.cfg.IntakeBatch)
		}
		// Commands that arrive at the head of an idle agent's queue are
		// leased in the intake's own transaction: no claim to wait for.
		n, jobs, err = e.cfg.Store.Intake(ctx, req, ClaimRequest{Owner: e.owner, Limit: room, Now: now, LeaseUntil: now.Add(e.cfg.Lease)})
		e.unreserve(room - len(jobs))
		// ErrInboxFull comes with what the intake took: the inbox bound,
		// not T_TTI running dry, ended it.
		full := errors.Is(err, ErrInboxFull)
		if full {
			err = nil
		}
		e.intakeHeld.Store(full)
		if err == nil && len(jobs) < n {
			e.leftover.Add(1)
		}
		if len(jobs) > 0 {
			// Leased, so started even when the relay is stopping: Stop waits
			// for them like for any command at the switch.
			e.stats.claimed.Add(int64(len(jobs)))
			e.start(e.runCtx, jobs)
		}
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			failures++
			e.log.Error("intake", "err", err, "failures", failures)
			if !e.wait(ctx, nil, retryDelay(failures)) {
				return
			}
			continue
		}
		failures = 0
		if n > 0 {
			e.committed()
			e.stats.intaken.Add(int64(n))
			if len(jobs) < n {
				signal(e.claimWake)
			}
		}
		switch {
		case full:
			// The writer wakes the intake when a settle makes room, and the
			// claim loop when it finds none ready; either may have
			// come before intakeHeld was set.
			if e.settles.Load() != settles || e.headsDry.Load() {
				continue
			}
			if !e.waitOr(ctx, e.intakeWake, nil, e.cfg.PollInterval) {
				return
			}
			continue
		case n >= e.cfg.IntakeBatch:
			continue
		}
		if !e.waitOr(ctx, e.intakeWake, e.intakeNotify, max(nextPoll.Sub(e.cfg.Clock.Now()), 0)) {
			return
		}
	}
}

func (e *Engine) claimLoop(ctx, runCtx context.Context) {
	failures := 0
	for {
		if !e.active.Load() {
			// standing by: activeLoop wakes this loop when the gate is taken
			if !e.wait(ctx, e.claimWake, e.cfg.PollInterval) {
				return
			}
			continue
		}
		room := e.reserve(e.cfg.MaxInFlight)
		if room <= 0 {
			// the writer signals claimWake whenever commands finish, the
			// intake when it hands back slots it held
			e.claimStarved.Store(true)
			if !e.waitOr(ctx, e.claimWake, e.claimNotify, e.cfg.PollInterval) {
				return
			}
			continue
		}
		e.claimStarved.Store(false)
		now := e.cfg.Clock.Now()
		jobs, err := e.cfg.Store.Claim(ctx, ClaimRequest{Owner: e.owner, Limit: room, Now: now, LeaseUntil: now.Add(e.cfg.Lease)})
		e.unreserve(room - len(jobs))
		if len(jobs) > 0 {
			// Leased, so started even when the relay is stopping: Stop waits
			// for them like for any command at the switch.
			e.stats.claimed.Add(int64(len(jobs)))
			e.start(runCtx, jobs)
		}
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			failures++
			e.log.Error("claim", "err", err, "failures", failures)
			if !e.wait(ctx, nil, retryDelay(failures)) {
				return
			}
			continue
		}
		failures = 0
		// Free slots and not one command ready: whatever the inbox holds
		// waits behind its agents' commands at the switch.
		dry := len(jobs) == 0
		e.headsDry.Store(dry)
		if dry && e.intakeHeld.Load() {
			signal(e.intakeWake)
		}
		if len(jobs) >= room {
			continue
		}
		if !e.waitOr(ctx, e.claimWake, e.claimNotify, e.cfg.PollInterval) {
			return
		}
	}
}

// Standby is implemented by a driver that holds switch connections only
// while its relay is the active one (EngineConfig.Active): SetActive(true)
// when the engine takes the gate, SetActive(false) when it loses it.
type Standby interface {
	SetActive(active bool)
}

// activeLoop holds EngineConfig.Active while it can: it waits for the
// gate, opens claiming, and stands by again when the gate is lost.
func (e *Engine) activeLoop(ctx context.Context) {
	standby, _ := e.cfg.Driver.(Standby)
	for {
		lost, release, err := e.cfg.Active.Acquire(ctx)
		if err != nil {
			return // ctx ended
		}
		e.activeMu.Lock()
		e.activeRelease = release
		e.activeMu.Unlock()
		if standby != nil {
			standby.SetActive(true)
		}
		e.active.Store(true)
		e.log.Info("active relay of the switch: claiming commands")
		signal(e.claimWake)
		signal(e.intakeWake)
		select {
		case <-ctx.Done():
			return // Stop releases the gate after the driver has closed
		case <-lost:
		}
		e.active.Store(false)
		e.log.Warn("lost the switch's active lock: standing by, claiming nothing")
		if standby != nil {
			standby.SetActive(false)
		}
		e.activeMu.Lock()
		e.activeRelease = nil
		e.activeMu.Unlock()
		release()
	}
}

// leaseLoop renews this relay's leases and takes over those of relays that
// died: at once those known dead (an earlier incarnation of this node), the
// others when their lease expires.
func (e *Engine) leaseLoop(ctx context.Context) {
	every := e.cfg.Lease / 3
	predecessors := true
	for {
		if predecessors {
			// retried at each tick until the store answers
			predecessors = !e.reclaimDead(ctx)
		}
		if !e.wait(ctx, nil, every) {
			return
		}
		now := e.cfg.Clock.Now()
		if e.inFlight.Load() > 0 {
			if err := e.cfg.Store.Extend(ctx, e.owner, now.Add(e.cfg.Lease)); err != nil && ctx.Err() == nil {
				e.log.Error("extend leases", "err", err)
			}
		}
		e.reclaim(ctx, now)
	}
}

// reclaim settles commands whose relay died: idempotent ones go back to the
// head of their queue, the others are in doubt.
func (e *Engine) reclaim(ctx context.Context, now time.Time) {
	jobs, err := e.cfg.Store.Reclaim(ctx, ClaimRequest{Owner: e.owner, Limit: e.cfg.WriteBatch, Now: now, LeaseUntil: now.Add(e.cfg.Lease)})
	if err != nil {
		if ctx.Err() == nil {
			e.log.Error("reclaim expired leases", "err", err)
		}
		return
	}
	e.takeOver(jobs, now, "lease expired", "lease expired: relay holding the command died")
}

// reclaimDead settles at once what relays known dead held: the earlier
// incarnations of this node, which cannot run while this one does (or, as
// the sole relay of the store, every other). It reports whether the store
// answered.
func (e *Engine) reclaimDead(ctx context.Context) bool {
	for {
		now := e.cfg.Clock.Now()
		jobs, err := e.cfg.Store.ReclaimDead(ctx, ReclaimDeadRequest{Owner: e.owner, Node: e.cfg.Node, Everyone: e.cfg.SoleRelay,
			Limit: e.cfg.WriteBatch, LeaseUntil: now.Add(e.cfg.Lease)})
		if err != nil {
			if ctx.Err() == nil {
				e.log.Error("reclaim the leases of a dead predecessor", "err", err)
			}
			return false
		}
		e.takeOver(jobs, now, "relay restarted", "relay restarted: its previous run died holding the command")
		if len(jobs) < e.cfg.WriteBatch {
			return true
		}
	}
}

// takeOver settles commands reclaimed from a dead relay: idempotent ones go
// back to the head of their queue, the others are in doubt.
func (e *Engine) takeOver(jobs []Job, now time.Time, why, logMsg string) {
	if len(jobs) == 0 {
		return
	}
	e.stats.reclaimed.Add(int64(len(jobs)))
	outcomes := make([]Outcome, 0, len(jobs))
	for _, j := range jobs {
		e.log.Warn(logMsg, "inbox_id", j.ID, "agent", j.Agent, "verb", j.Verb)
		outcomes = append(outcomes, e.abandoned(j, now, why))
	}
	e.inFlight.Add(int64(len(outcomes)))
	for i := range outcomes {
		if !e.queue(output{outcome: &outcomes[i]}) {
			// A lease loop Stop gave up waiting for: the command stays
			// leased and is reclaimed again when that lease expires.
			e.inFlight.Add(-1)
		}
	}
}

// queue hands o to the writer unless Stop has closed its queue.
func (e *Engine) queue(o output) bool {
	e.outputMu.RLock()
	defer e.outputMu.RUnlock()
	if e.outputClosed {
		return false
	}
	e.output <- o
	return true
}

// abandoned decides the fate of a command that may or may not have reached
// the switch.
func (e *Engine) abandoned(j Job, now time.Time, why string) Outcome {
	if o, ok := RefusedOutcome(j); ok {
		return o // never reached the switch: nothing is in doubt
	}
	if j.Verb.Idempotent() || e.cfg.InDoubt == InDoubtRetry {
		return Outcome{Job: j, Kind: Retry, NotBefore: now, Reason: why}
	}
	return e.inDoubt(j, why+" while the switch had it")
}

// inDoubtReason starts the dead-letter reason of an in-doubt command.
const inDoubtReason = "in-doubt: "

// inDoubt dead-letters a non-idempotent command that may or may not have
// been carried out, and tells the originator so.
func (e *Engine) inDoubt(j Job, why string) Outcome {
	msg := fmt.Sprintf("%s %s: %s; not sent again so it cannot happen twice", j.Verb, "in doubt", why)
	return Outcome{Job: j, Kind: Dead, Reason: inDoubtReason + why,
		Replies: []Frame{ErrReply(j.Agent, CodeInDoubt, msg)}}
}
