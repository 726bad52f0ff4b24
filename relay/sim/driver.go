package sim

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

var _ relay.Driver = (*Driver)(nil)

// Driver runs a Switch as the relay's switch, in process.
type Driver struct {
	sw *Switch

	mu      sync.Mutex
	opened  bool
	closed  bool
	cancel  context.CancelFunc
	unsub   func()
	forward chan struct{} // closed when the event forwarder has returned
	done    chan struct{} // closed when Close has finished
	since   time.Time     // when Open or Close last changed Health's Connected
}

// NewDriver adapts sw; Close stops it.
func NewDriver(sw *Switch) *Driver { return &Driver{sw: sw, done: make(chan struct{})} }

// Switch is the simulated switch behind the driver.
func (d *Driver) Switch() *Switch { return d.sw }

// Open subscribes sink to the switch's events and starts the switch. Events
// flow until Close, whatever becomes of ctx afterwards: the relay passes the
// context it was started with, and stopping is Close's job.
func (d *Driver) Open(ctx context.Context, sink relay.EventSink) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return fmt.Errorf("open sim driver: %w", ErrStopped)
	}
	if d.opened {
		return errors.New("open sim driver: already open")
	}
	events, unsub := d.sw.Subscribe(d.sw.cfg.EventBuffer)
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	if err := d.sw.Start(runCtx); err != nil {
		cancel()
		unsub()
		return fmt.Errorf("open sim driver: %w", err)
	}
	d.opened, d.cancel, d.unsub = true, cancel, unsub
	d.since = d.sw.cfg.Clock.Now()
	d.forward = make(chan struct{})
	go func() {
		defer close(d.forward)
		for f := range events {
			sink.Event(runCtx, f)
		}
	}()
	return nil
}

// Supports every Tactium verb and the extension verbs (CONS, XFER, CONF).
func (d *Driver) Supports(v relay.Verb) bool {
	return slices.Contains(relay.Verbs, v) || slices.Contains(relay.ExtensionVerbs, v)
}

// Execute hands the command to the switch. A stopped switch is a transient
// failure: the command may succeed once the relay has a running switch again.
func (d *Driver) Execute(ctx context.Context, cmd relay.Command) ([]relay.Frame, error) {
	frames, err := d.sw.Handle(ctx, cmd)
	if errors.Is(err, ErrStopped) {
		return nil, relay.Transient(fmt.Errorf("sim execute: %w", err))
	}
	return frames, err
}

// Close stops the switch and returns once no more events will reach the
// sink. Safe to call more than once, also concurrently: every call returns
// once the driver is closed.
func (d *Driver) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		<-d.done
		return nil
	}
	d.closed = true
	opened := d.opened
	if opened {
		d.since = d.sw.cfg.Clock.Now()
	}
	d.mu.Unlock()
	defer close(d.done)

	d.sw.Stop()
	if opened {
		d.unsub()
		d.cancel() // a sink still blocked on the last event gives up
		<-d.forward
	}
	return nil
}

// Health: the switch runs in process, so it is reachable from Open to Close.
func (d *Driver) Health() relay.DriverHealth {
	d.mu.Lock()
	defer d.mu.Unlock()
	return relay.DriverHealth{Connected: d.opened && !d.closed, Since: d.since, Detail: "simulated switch, in process"}
}
