package sim

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// ErrStopped is returned for commands sent after Stop; it wraps
// relay.ErrStopped, which Start returns after Stop.
var ErrStopped = fmt.Errorf("simulated switch %w", relay.ErrStopped)

// Switch is the simulated ACD. It is safe for concurrent use.
type Switch struct {
	cfg   Config
	clock relay.Clock
	log   *slog.Logger

	mu       sync.Mutex
	agents   map[string]*agent
	ordered  []*agent // by login, so routing does not depend on map order
	queue    []*call  // inbound calls waiting for an agent
	due      []*callback
	actions  actionHeap
	seq      uint64
	lastCall int64
	lastItem int64
	stats    Stats
	subs     []*subscription
	changed  chan struct{} // closed and replaced on every change (pokeLocked)

	// Separate random streams keep each process repeatable on its own: the
	// arrivals do not shift because a command drew a number.
	rngInbound, rngDialer, rngRoute, rngTalk *rand.Rand

	life      relay.StartStop
	started   bool
	stop      chan struct{} // closed by halt: commands get ErrStopped
	stopOnce  sync.Once
	wg        sync.WaitGroup
	idle      bool // the scheduler is waiting, caught up
	idleTimer bool // ... for idleUntil
	idleUntil time.Time
}

// Stats counts what the switch has done.
type Stats struct {
	Inbound          int64 // inbound calls offered
	InboundConnected int64 // ... that reached an agent
	Abandoned        int64 // ... whose caller hung up while queued
	Busy             int64 // ... turned away because the queue was full
	Waiting          int   // inbound calls queued now
	Dialer           int64 // dialer calls connected to an agent
	DialerIdle       int64 // dialer attempts skipped: nobody available
	Dialled          int64 // calls placed with the A command
	Callbacks        int64 // callbacks scheduled with TR
	Transferred      int64 // calls transferred with XFER
	Conferences      int64 // conferences started with CONF ON
	CallbacksPlaced  int64 // ... connected to an agent
}

// New builds a switch. Call Start to run the background behaviour.
func New(cfg Config) (*Switch, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	seed := uint64(cfg.Seed)
	stream := func(n uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, n)) }
	return &Switch{
		cfg: cfg, clock: cfg.Clock, log: cfg.Logger,
		agents:     make(map[string]*agent),
		changed:    make(chan struct{}),
		stop:       make(chan struct{}),
		rngInbound: stream(1), rngDialer: stream(2), rngRoute: stream(3), rngTalk: stream(4),
	}, nil
}

// Config is the configuration in effect, defaults filled in.
func (s *Switch) Config() Config { return s.cfg }

// Start begins inbound and dialer traffic and keeps simulated time moving with
// the clock until Stop or the end of ctx (relay.StartStop's contract: calling
// it again does nothing, after Stop it returns relay.ErrStopped).
func (s *Switch) Start(ctx context.Context) error { return s.life.Start(ctx, s.startUp) }

func (s *Switch) startUp(context.Context) (func(), error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.started = true
	now := s.clock.Now()
	if s.cfg.InboundPerMinute > 0 {
		s.nextInboundLocked(now)
	}
	if s.cfg.DialerPerMinute > 0 {
		s.nextDialerLocked(now)
	}
	s.wg.Add(1)
	go s.run()
	s.log.Info("started", "seed", s.cfg.Seed, "inbound_per_minute", s.cfg.InboundPerMinute, "dialer_per_minute", s.cfg.DialerPerMinute)
	return s.shutdown, nil
}

// Stop ends the background behaviour and every subscription. Commands get
// ErrStopped afterwards, also when the switch was never started (it answers
// commands without Start). Safe to call more than once.
func (s *Switch) Stop() {
	s.life.Stop()
	s.shutdown() // for a switch that never started; a no-op otherwise
}

// Stopped is closed once the switch has stopped.
func (s *Switch) Stopped() <-chan struct{} { return s.life.Stopped() }

func (s *Switch) shutdown() {
	s.halt()
	s.wg.Wait()
	s.closeSubscriptions()
}

func (s *Switch) halt() {
	s.stopOnce.Do(func() {
		s.mu.Lock()
		close(s.stop)
		s.pokeLocked()
		s.mu.Unlock()
	})
}

func (s *Switch) stoppedLocked() bool {
	select {
	case <-s.stop:
		return true
	default:
		return false
	}
}

// Handle carries out one command and returns its replies. Refusals are
// *relay.ProtocolError values (NOT_LOGGED_ON, INVALID_STATE, BAD_ARGS ...).
// Before acting it brings simulated time up to the clock, so a command always
// sees every call event that is due; it waits (up to ctx) while subscribers
// are too far behind to take more events.
func (s *Switch) Handle(ctx context.Context, cmd relay.Command) ([]relay.Frame, error) {
	if s.cfg.ThinkTime > 0 {
		select {
		case <-s.clock.After(s.cfg.ThinkTime):
		case <-ctx.Done():
			return nil, fmt.Errorf("think: %w", ctx.Err())
		}
	}
	for {
		s.mu.Lock()
		if s.stoppedLocked() {
			s.mu.Unlock()
			return nil, ErrStopped
		}
		now := s.clock.Now()
		if s.advanceLocked(now) && s.roomLocked() {
			frames, err := s.applyLocked(cmd, now)
			s.mu.Unlock()
			return frames, err
		}
		changed := s.changed
		s.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for event subscribers: %w", ctx.Err())
		}
	}
}

// Agent reports an agent's state and current call (nil when there is none).
// Unknown logins are logged off.
func (s *Switch) Agent(login string) (relay.AgentState, *Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.agents[login]
	if a == nil {
		return relay.StateLoggedOff, nil
	}
	if a.call == nil {
		return a.state, nil
	}
	c := a.call.snapshot()
	return a.state, &c
}

// Extension is the agent's extension, assigned when it first logs on.
func (s *Switch) Extension(login string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.agents[login]; a != nil {
		return a.ext, true
	}
	return "", false
}

// Stats returns the running counts.
func (s *Switch) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Waiting = len(s.queue)
	return st
}

// agentLocked returns the agent for login, creating it (logged off, with the
// next extension) when create is set.
func (s *Switch) agentLocked(login string, create bool) *agent {
	if a := s.agents[login]; a != nil || !create {
		return a
	}
	a := &agent{login: login, ext: fmt.Sprint(s.cfg.FirstExtension + len(s.ordered)), state: relay.StateLoggedOff}
	s.agents[login] = a
	i := sort.Search(len(s.ordered), func(i int) bool { return strings.Compare(s.ordered[i].login, login) >= 0 })
	s.ordered = append(s.ordered, nil)
	copy(s.ordered[i+1:], s.ordered[i:])
	s.ordered[i] = a
	return a
}

// pickAvailableLocked chooses an available agent with the routing stream, or nil.
func (s *Switch) pickAvailableLocked() *agent {
	var free []*agent
	for _, a := range s.ordered {
		if a.state == relay.StateAvailable {
			free = append(free, a)
		}
	}
	if len(free) == 0 {
		return nil
	}
	return free[s.rngRoute.IntN(len(free))]
}
