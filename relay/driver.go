package relay

import (
	"context"
	"time"
)

var errDeadline = context.DeadlineExceeded

// Driver is the seam to a telephone switch. The engine calls Execute for one
// command at a time per login, so replies that carry no request id (Tactium)
// are unambiguous; different logins run in parallel.
type Driver interface {
	// Open connects and starts delivering switch events to sink until Close.
	Open(ctx context.Context, sink EventSink) error
	// Supports reports whether the switch can carry out the verb; the engine
	// answers ERR UNSUPPORTED for the others without calling Execute.
	Supports(v Verb) bool
	// Execute sends one command and returns the frames that answer it (usually
	// one: OK, S, EndCall, or an A/R for AC). A *ProtocolError is a permanent
	// refusal answered as ERR; a TransientError (or a deadline) is retried.
	// A TransientError that does not wrap ErrInDoubt says the command did
	// not reach the switch: it is retried (or, at shutdown, released) for
	// every verb, even when it wraps the context's error.
	Execute(ctx context.Context, cmd Command) ([]Frame, error)
	// Close stops the driver; it is safe to call more than once.
	Close() error
	// Health reports the driver's link to the switch: not Connected before
	// Open or after Close. It is cheap and safe to call at any time, from
	// any goroutine (readiness probes, metrics, the dashboard poll it).
	Health() DriverHealth
}

// EventSink receives unsolicited switch events (A, R, G, EndCall ...). It may
// block to apply back-pressure while events are being made durable.
type EventSink interface {
	Event(ctx context.Context, f Frame)
}

// EventSinkFunc adapts a function to EventSink.
type EventSinkFunc func(ctx context.Context, f Frame)

// Event calls fn.
func (fn EventSinkFunc) Event(ctx context.Context, f Frame) { fn(ctx, f) }

// Clock is injected wherever time matters so tests never sleep.
type Clock interface {
	Now() time.Time
	// After behaves as time.After.
	After(d time.Duration) <-chan time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// After returns time.After(d).
func (SystemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
