package relaytest

import (
	"context"
	"sync"

	"github.com/ctirelay/ctirelay/relay"
)

var _ relay.Driver = (*Driver)(nil)

// Driver is a scriptable fake switch. By default every command answers
// <login><OK>$ (S answers <login><S><1>$). Handle overrides that; Gate makes
// commands wait until released; Calls records what the engine sent.
type Driver struct {
	mu      sync.Mutex
	sink    relay.EventSink
	calls   []relay.Command
	running map[string]int // commands at the switch per login
	maxPer  int            // highest running count seen for one login
	opened  int
	closed  int
	// Handle, when set, answers instead of the default.
	Handle func(ctx context.Context, cmd relay.Command) ([]relay.Frame, error)
	// Unsupported verbs are refused by Supports.
	Unsupported map[relay.Verb]bool
	// Gate, when set, is received from before each command is answered.
	Gate chan struct{}
	// Started receives each command as it reaches the switch (if set; never blocks the engine for long: make it buffered).
	Started chan relay.Command
}

// Open implements relay.Driver.
func (d *Driver) Open(_ context.Context, sink relay.EventSink) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sink = sink
	d.opened++
	if d.running == nil {
		d.running = map[string]int{}
	}
	return nil
}

// Supports implements relay.Driver.
func (d *Driver) Supports(v relay.Verb) bool { return !d.Unsupported[v] }

// Execute implements relay.Driver.
func (d *Driver) Execute(ctx context.Context, cmd relay.Command) ([]relay.Frame, error) {
	d.mu.Lock()
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
	defer d.mu.Unlock()
	d.closed++
	return nil
}

// Emit delivers an unsolicited event as the switch would.
func (d *Driver) Emit(ctx context.Context, f relay.Frame) {
	d.mu.Lock()
	sink := d.sink
	d.mu.Unlock()
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
