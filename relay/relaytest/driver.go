package relaytest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

var _ relay.Driver = (*Driver)(nil)

// Driver is a scriptable fake switch. By default every command answers
// <login><OK>$ (S answers <login><S><1>$). Handle overrides that; Gate makes
// commands wait until released; Calls records what the engine sent. It
// behaves as drivertest asks of a driver: after Close, commands fail as
// transient and events are dropped (unless LateEvents); unsupported verbs
// are refused.
type Driver struct {
	mu      sync.Mutex
	sink    relay.EventSink
	calls   []relay.Command
	running map[string]int // commands at the switch per login
	maxPer  int            // highest running count seen for one login
	opened  int
	closed  int
	isOpen  bool          // opened and not closed since
	dropped chan struct{} // closed by Drop
	// Close cancels openCtx, which ends the sink's context, then takes
	// emitting for writing: no event reaches the sink after Close returns.
	openCtx   context.Context
	closeOpen context.CancelFunc
	emitting  sync.RWMutex
	// LateEvents makes Emit deliver after Close too, as a driver racing
	// Close with a last event would (to test what the engine does then).
	LateEvents bool
	// Handle, when set, answers instead of the default.
	Handle func(ctx context.Context, cmd relay.Command) ([]relay.Frame, error)
	// Unsupported verbs are refused by Supports.
	Unsupported map[relay.Verb]bool
	// Gate, when set, is received from before each command is answered.
	Gate chan struct{}
	// Started receives each command as it reaches the switch (if set; never blocks the engine for long: make it buffered).
	Started chan relay.Command

	health    *relay.DriverHealth // SetHealth's, when set
	drops     int64
	lastError string
	since     time.Time
}

// SetHealth makes Health report h (until SetHealth(nil)); by default the
// fake reports Connected while open, and each Drop as a lost link
// re-established at once.
func (d *Driver) SetHealth(h *relay.DriverHealth) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.health = h
}

// Health implements relay.Driver.
func (d *Driver) Health() relay.DriverHealth {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.health != nil {
		return *d.health
	}
	return relay.DriverHealth{Connected: d.isOpen, Since: d.since, Reconnects: d.drops, LastError: d.lastError, Detail: "fake switch"}
}

// Open implements relay.Driver.
func (d *Driver) Open(_ context.Context, sink relay.EventSink) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sink = sink
	d.opened++
	d.isOpen = true
	d.since = time.Now()
	d.openCtx, d.closeOpen = context.WithCancel(context.Background())
	if d.running == nil {
		d.running = map[string]int{}
	}
	if d.dropped == nil {
		d.dropped = make(chan struct{})
	}
	return nil
}

// errClosed is what a command gets after Close: it never reached the switch.
var errClosed = relay.Transient(errors.New("fake driver closed"))

// Supports implements relay.Driver.
func (d *Driver) Supports(v relay.Verb) bool { return !d.Unsupported[v] }

// Execute implements relay.Driver.
func (d *Driver) Execute(ctx context.Context, cmd relay.Command) ([]relay.Frame, error) {
	if d.Unsupported[cmd.Verb] {
		return nil, relay.Errorf(relay.CodeUnsupported, "the fake switch cannot do %s", cmd.Verb)
	}
	d.mu.Lock()
	if !d.isOpen && d.closed > 0 {
		d.mu.Unlock()
		return nil, errClosed
	}
	dropped := d.dropped
	d.calls = append(d.calls, cmd)
	d.running[cmd.Login]++
	d.maxPer = max(d.maxPer, d.running[cmd.Login])
	handle, gate, started := d.Handle, d.Gate, d.Started
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		d.running[cmd.Login]--
		d.mu.Unlock()
	}()
	if started != nil {
		started <- cmd
	}
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-dropped:
			return nil, fmt.Errorf("fake switch connection lost: %w", relay.ErrInDoubt)
		}
	}
	if handle != nil {
		return handle(ctx, cmd)
	}
	if cmd.Verb == relay.VerbStatus {
		return []relay.Frame{relay.StatusReply(cmd.Login, relay.StateAvailable)}, nil
	}
	return []relay.Frame{relay.OK(cmd.Login)}, nil
}

// Close implements relay.Driver.
func (d *Driver) Close() error {
	d.mu.Lock()
	d.closed++
	if d.isOpen {
		d.since = time.Now()
	}
	d.isOpen = false
	if d.closeOpen != nil {
		d.closeOpen()
	}
	d.mu.Unlock()
	d.emitting.Lock()
	defer d.emitting.Unlock()
	return nil
}

// Drop makes the commands waiting at the Gate fail as a lost connection
// would: in doubt.
func (d *Driver) Drop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dropped != nil {
		close(d.dropped)
		d.dropped = make(chan struct{})
	}
	d.drops++
	d.lastError = "fake switch connection lost"

}

// Emit delivers an unsolicited event as the switch would: dropped once the
// driver is closed (unless LateEvents) or before it is opened.
func (d *Driver) Emit(ctx context.Context, f relay.Frame) {
	d.mu.Lock()
	sink, late := d.sink, d.LateEvents && !d.isOpen
	d.mu.Unlock()
	if late && sink != nil {
		sink.Event(ctx, f)
		return
	}
	d.emitting.RLock()
	defer d.emitting.RUnlock()
	d.mu.Lock()
	open, openCtx := d.isOpen, d.openCtx
	d.mu.Unlock()
	if !open {
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(openCtx, cancel)()
	sink.Event(ctx, f)
}

// Calls returns the commands sent so far, in order.
func (d *Driver) Calls() []relay.Command {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]relay.Command(nil), d.calls...)
}

// MaxConcurrentPerLogin is the most commands one login ever had at the switch at once.
func (d *Driver) MaxConcurrentPerLogin() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.maxPer
}

// Closed reports how many times Close was called.
func (d *Driver) Closed() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.closed
}
