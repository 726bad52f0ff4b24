package epbx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

var (
	_ relay.Driver  = (*Driver)(nil)
	_ relay.Standby = (*Driver)(nil)
)

// errStandby refuses a command on a relay that is not the active one.
var errStandby = errors.New("epbx: this relay is standing by (another holds the switch)")

// ErrClosed is returned by Execute after Close.
var ErrClosed = errors.New("epbx driver closed")

// Driver is the relay's switch driver for a Talk Telecom EPBX.
type Driver struct {
	cfg Config
	log *slog.Logger

	mu       sync.Mutex
	opened   bool
	closed   bool
	sink     relay.EventSink
	ctx      context.Context // ends at Close: events in the sink give up
	cancel   context.CancelFunc
	sessions map[string]*session
	standby  bool           // SetActive(false): no connections, no commands
	resuming sync.WaitGroup // SetActive(true)'s re-logons, waited for by Close

	// Health (health.go).
	linkUp     bool
	since      time.Time
	reconnects int64
	lastErr    string
	connFailed bool  // the last connection attempt (token, negotiate) failed
	reached    bool  // an agent's connection has opened since Open (or since standing by)
	lastStamp  int64 // the agent state's last Position (state.go)
}

// New checks cfg and builds a driver.
func New(cfg Config) (*Driver, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Driver{cfg: cfg, log: cfg.Logger.With("switch", "epbx"), sessions: map[string]*session{}, standby: cfg.Gated}, nil
}

// Open starts delivering events to sink. Connections open per agent, at
// the agent's first command.
func (d *Driver) Open(ctx context.Context, sink relay.EventSink) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return fmt.Errorf("open epbx driver: %w", ErrClosed)
	}
	if d.opened {
		return errors.New("open epbx driver: already open")
	}
	d.opened, d.sink = true, sink
	d.ctx, d.cancel = context.WithCancel(context.WithoutCancel(ctx))
	d.linkChangedLocked()
	return nil
}

// Supports the Tactium verbs EPBX has (not TR, C S or POS: EPBX has no
// dialer callbacks, outcomes or wrap-up) and the extension verbs.
func (d *Driver) Supports(v relay.Verb) bool {
	switch v {
	case relay.VerbLogon, relay.VerbPause, relay.VerbStatus, relay.VerbDial, relay.VerbHangUp, relay.VerbCurrentCall:
		return true
	}
	return isExtension(v)
}

// Execute carries out one command on its agent's connection. Errors:
// relay.Transient when nothing was sent (EPBX unreachable, connection
// down), relay.ErrInDoubt when a hub call was sent and its result lost,
// *relay.ProtocolError when the hub or the driver refused it.
func (d *Driver) Execute(ctx context.Context, cmd relay.Command) ([]relay.Frame, error) {
	if strings.EqualFold(cmd.Login, relay.AdminLogin) {
		return nil, relay.Errorf(relay.CodeRejected, "%s is the monitoring login, not an agent", relay.AdminLogin)
	}
	if !d.Supports(cmd.Verb) {
		return nil, relay.Errorf(relay.CodeUnsupported, "EPBX cannot do %s", cmd.Verb)
	}
	key := strings.ToLower(cmd.Login)
	agent, ok := d.cfg.Agents[key]
	if !ok && cmd.Verb == relay.VerbStatus {
		// No EPBX user: the agent can never be logged on.
		return []relay.Frame{relay.StatusReply(cmd.Login, relay.StateLoggedOff)}, nil
	}
	if !ok {
		return nil, relay.Errorf(relay.CodeNotLoggedOn, "agent %s has no EPBX user in switch.epbx.agents", cmd.Login)
	}
	d.mu.Lock()
	if d.closed || !d.opened {
		d.mu.Unlock()
		return nil, relay.Transient(ErrClosed)
	}
	if d.standby {
		d.mu.Unlock()
		return nil, relay.Transient(errStandby)
	}
	s := d.sessions[key]
	if s == nil {
		s = newSession(d, cmd.Login, agent)
		d.sessions[key] = s
	}
	d.mu.Unlock()
	return s.execute(ctx, cmd)
}

// Close stops every connection (aborting it at the server); commands in
// flight fail in doubt and no event reaches the sink after it returns.
func (d *Driver) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	d.linkChangedLocked()
	if d.cancel != nil {
		d.cancel()
	}
	var ss []*session
	for _, s := range d.sessions {
		ss = append(ss, s)
	}
	d.mu.Unlock()
	var wg sync.WaitGroup
	for _, s := range ss {
		wg.Go(s.close)
	}
	wg.Wait()
	d.resuming.Wait()
	return nil
}

// SetActive is told by the engine (relay.EngineConfig.Active) whether this
// relay is the one that runs the switch's commands. Standing by, the
// driver holds no connection, so only the active relay hears (and
// journals) an agent's events: every connection is closed, what is known
// of each agent kept, and commands are refused as transient. Active again,
// it reconnects the agents it knew logged on and logs them on again with
// their pause, as after a hub restart. With Config.State it first reads
// what the previous active relay (maybe dead) saved there, which wins over
// what this one remembers; without it, an agent this relay never logged
// on connects at its next command, whose "Ramal não logado" answer logs it
// on again.
func (d *Driver) SetActive(active bool) {
	d.mu.Lock()
	if d.closed || d.standby == !active {
		d.mu.Unlock()
		return
	}
	d.standby = !active
	if !active {
		d.reached = false // its connections close: idle until one opens again
	}
	d.linkChangedLocked()
	ctx := d.ctx
	d.mu.Unlock()
	if !active {
		for _, s := range d.sessionList() {
			s.suspend()
		}
		d.log.Warn("epbx driver standing by: agent connections closed")
		return
	}
	if ctx == nil {
		return // not open: nothing to resume
	}
	// Read before the engine claims (it calls SetActive first), so the
	// agents' first commands find them pending.
	var saved map[string]known
	if d.cfg.State != nil {
		var err error
		if saved, err = d.loadState(ctx); err != nil {
			d.log.Warn("epbx agent states not read: agents log on again at their next command", "err", err)
		}
	}
	d.mu.Lock()
	for key, a := range saved {
		agent, ok := d.cfg.Agents[key]
		if !ok {
			continue
		}
		s := d.sessions[key]
		if s == nil && !a.loggedOn {
			continue
		}
		if s == nil {
			s = newSession(d, key, agent)
			d.sessions[key] = s
		}
		s.adopt(a)
	}
	ss := make([]*session, 0, len(d.sessions))
	for _, s := range d.sessions {
		s.mu.Lock()
		s.pending = s.loggedOn
		s.mu.Unlock()
		ss = append(ss, s)
	}
	d.resuming.Add(len(ss))
	d.mu.Unlock()
	for _, s := range ss {
		go func() { defer d.resuming.Done(); s.resume(ctx) }()
	}
	d.log.Info("epbx driver active", "agents", len(ss), "saved", len(saved))
}

func (d *Driver) sessionList() []*session {
	d.mu.Lock()
	defer d.mu.Unlock()
	ss := make([]*session, 0, len(d.sessions))
	for _, s := range d.sessions {
		ss = append(ss, s)
	}
	return ss
}

// emit hands an event to the sink unless the driver has closed.
func (d *Driver) emit(f relay.Frame) {
	d.mu.Lock()
	sink, ctx, closed := d.sink, d.ctx, d.closed
	d.mu.Unlock()
	if closed || sink == nil {
		return
	}
	sink.Event(ctx, f)
}

// Status is what the driver knows about its connections.
type Status struct {
	Connections int // agents with a SignalR connection up
	LoggedOn    int
}

// Status reports the connections (for health checks and tests).
func (d *Driver) Status() Status {
	d.mu.Lock()
	ss := make([]*session, 0, len(d.sessions))
	for _, s := range d.sessions {
		ss = append(ss, s)
	}
	d.mu.Unlock()
	var st Status
	for _, s := range ss {
		c, l := s.status()
		if c {
			st.Connections++
		}
		if l {
			st.LoggedOn++
		}
	}
	return st
}
