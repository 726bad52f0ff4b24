// Package drivertest is the behaviour suite every switch driver runs: what
// the engine relies on from a relay.Driver, checked the same way for each.
//
//	func TestDriverSuite(t *testing.T) {
//		drivertest.Run(t, func(t *testing.T) *drivertest.Harness { ... })
//	}
//
// The harness gives the suite a fresh driver and, where the switch allows,
// ways to make it hold a command, lose the connection and send an event;
// cases a harness cannot support are skipped with the reason.
package drivertest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
)

// Harness is one driver under test and its switch.
type Harness struct {
	// Driver is built and not yet opened; the suite opens and closes it.
	Driver relay.Driver
	// Hold makes the switch keep the commands that follow without answering
	// them: reached receives once for each as it arrives at the switch, and
	// release lets them all go (the switch may then answer or not). Nil
	// skips the cases that need it.
	Hold func() (reached <-chan struct{}, release func())
	// Drop cuts the driver's connection to the switch while commands are
	// held. Nil (a switch in process) skips the lost-connection case.
	Drop func()
	// Relink, after Drop, helps the driver link up again: it advances the
	// driver's clock past its reconnect backoff, or (a switch reached per
	// request) sends a request that reaches it. The suite calls it
	// repeatedly while it waits. Nil: the driver relinks on its own.
	Relink func()
	// Link, for a driver whose links open on demand (EPBX: a connection
	// per agent, at its first command) and that is therefore not connected
	// after Open alone, opens one (logs an agent on). Nil: Open links up.
	Link func()
	// Event makes the switch send at least one unsolicited event for login,
	// once the driver is open. It may block while the driver does not take
	// events, and must return once the driver is closed. Nil skips the event
	// cases.
	Event func(login string)
}

// Holder is a ready Harness.Hold for a switch the test runs: the switch
// calls Arrive as each command reaches it. The zero value is ready.
type Holder struct {
	mu      sync.Mutex
	release chan struct{}
	reached chan struct{}
}

// Hold implements Harness.Hold.
func (h *Holder) Hold() (reached <-chan struct{}, release func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.release, h.reached = make(chan struct{}), make(chan struct{}, 16)
	ch := h.release
	return h.reached, sync.OnceFunc(func() {
		h.mu.Lock()
		h.release, h.reached = nil, nil
		h.mu.Unlock()
		close(ch)
	})
}

// Arrive reports a command reaching the switch. While holding it returns a
// channel closed at release, which the switch waits on before answering
// (or until the command's context ends); otherwise nil: answer at once.
func (h *Holder) Arrive() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.release == nil {
		return nil
	}
	select {
	case h.reached <- struct{}{}:
	default: // the suite waits for the first few only
	}
	return h.release
}

// Samples is a well-formed command for each verb, as the engine would send
// it: the suite executes each one the driver says it supports.
var Samples = map[relay.Verb]string{
	relay.VerbLogon:       "<jose><L><ON>$",
	relay.VerbPause:       "<jose><P><ON><1>$",
	relay.VerbWrapUpEnd:   "<jose><POS><OFF>$",
	relay.VerbStatus:      "<jose><S>$",
	relay.VerbCallback:    "<jose><TR><17/08/2010 15:00><40050500><jose>$",
	relay.VerbCallOutcome: "<jose><C><S><EletronicResponse>$",
	relay.VerbDial:        "<jose><A><85><40050500><>$",
	relay.VerbHangUp:      "<jose><D>$",
	relay.VerbCurrentCall: "<jose><AC>$",
}

// Run runs the suite; newHarness is called once per case.
func Run(t *testing.T, newHarness func(t *testing.T) *Harness) {
	t.Helper()
	cases := []struct {
		name string
		run  func(t *testing.T, h *Harness)
	}{
		{"close twice", closeTwice},
		{"close without open", closeWithoutOpen},
		{"execute after close", executeAfterClose},
		{"deadline while the switch has the command", deadlineInDoubt},
		{"connection lost while the switch has the command", lostConnectionInDoubt},
		{"events only between open and close", eventsBetweenOpenAndClose},
		{"close while the sink is blocked", closeWhileSinkBlocked},
		{"supports agrees with execute", supportsAgreesWithExecute},
		{"concurrent execute for different logins", concurrentLogins},
		{"health follows open and close", healthOpenClose},
		{"health counts a lost link that came back", healthReconnects},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			c.run(t, h)
		})
	}
}

// Command parses frame into the command the engine would execute.
func Command(t testing.TB, frame string) relay.Command {
	t.Helper()
	f, err := relay.Parse(frame)
	if err != nil {
		t.Fatalf("parse %q: %v", frame, err)
	}
	cmd, err := relay.ParseCommand(f)
	if err != nil {
		t.Fatalf("command %q: %v", frame, err)
	}
	return cmd
}

// MaybeActed reports whether the engine treats err as "the switch may have
// carried the command out" (relay/dispatch.go): a non-idempotent verb is
// then in doubt, never merely retried.
func MaybeActed(err error) bool {
	return errors.Is(err, relay.ErrInDoubt) || errors.Is(err, context.DeadlineExceeded)
}

func open(t *testing.T, h *Harness, s *sink) {
	t.Helper()
	if err := h.Driver.Open(context.Background(), s); err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = h.Driver.Close() })
}

// within runs f and returns what it returns, failing the test if it never
// does: a hang is a failure, how long f takes is not asserted.
func within[T any](t *testing.T, what string, f func() T) T {
	t.Helper()
	done := make(chan T, 1)
	go func() { done <- f() }()
	select {
	case v := <-done:
		return v
	case <-time.After(wait.Safety):
		t.Fatalf("%s did not return within %v", what, wait.Safety)
		var zero T
		return zero
	}
}

// execute runs the command with ctx, failing the test if Execute never
// returns.
func execute(t *testing.T, d relay.Driver, ctx context.Context, frame string) ([]relay.Frame, error) {
	t.Helper()
	cmd := Command(t, frame)
	type result struct {
		frames []relay.Frame
		err    error
	}
	r := within(t, "Execute "+frame, func() result {
		f, err := d.Execute(ctx, cmd)
		return result{f, err}
	})
	return r.frames, r.err
}

func closeWithin(t *testing.T, d relay.Driver) error {
	t.Helper()
	return within(t, "Close", d.Close)
}

func closeTwice(t *testing.T, h *Harness) {
	open(t, h, newSink())
	if _, err := execute(t, h.Driver, context.Background(), "<jose><S>$"); err != nil {
		t.Fatalf("S: %v", err)
	}
	if err := closeWithin(t, h.Driver); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := closeWithin(t, h.Driver); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func closeWithoutOpen(t *testing.T, h *Harness) {
	if err := closeWithin(t, h.Driver); err != nil {
		t.Fatalf("Close before Open: %v", err)
	}
	if err := closeWithin(t, h.Driver); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// A command after Close never reached the switch: it fails at once, as
// retryable (the next relay sends it), and not as in doubt.
func executeAfterClose(t *testing.T, h *Harness) {
	open(t, h, newSink())
	if err := closeWithin(t, h.Driver); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, frame := range []string{"<jose><S>$", "<jose><A><85><40050500><>$"} {
		_, err := execute(t, h.Driver, context.Background(), frame)
		switch {
		case err == nil:
			t.Fatalf("%s after Close succeeded", frame)
		case !relay.IsTransient(err):
			t.Fatalf("%s after Close: %v is not transient: the engine would not send it again", frame, err)
		case errors.Is(err, relay.ErrInDoubt):
			t.Fatalf("%s after Close: %v is in doubt, yet it was never sent", frame, err)
		}
	}
}

// deadlineCtx is a context whose deadline passes when the test says, so no
// test waits for time to pass.
type deadlineCtx struct {
	context.Context
	done chan struct{}
	once sync.Once
}

func newDeadlineCtx() *deadlineCtx {
	return &deadlineCtx{Context: context.Background(), done: make(chan struct{})}
}

func (c *deadlineCtx) Done() <-chan struct{} { return c.done }
func (c *deadlineCtx) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}
func (c *deadlineCtx) expire() { c.once.Do(func() { close(c.done) }) }

// held opens the driver, lets one command for jose through (so its
// connection is up), then holds the next and sends a dial. It returns once
// the dial is at the switch, with the dial's result to come.
func held(t *testing.T, h *Harness, ctx context.Context) (result <-chan error, release func()) {
	t.Helper()
	if h.Hold == nil {
		t.Skip("the harness cannot make the switch hold a command")
	}
	open(t, h, newSink())
	if _, err := execute(t, h.Driver, context.Background(), "<jose><S>$"); err != nil {
		t.Fatalf("S: %v", err)
	}
	reached, release := h.Hold()
	t.Cleanup(release)
	done := make(chan error, 1)
	cmd := Command(t, "<jose><A><85><40050500><>$")
	go func() {
		_, err := h.Driver.Execute(ctx, cmd)
		done <- err
	}()
	select {
	case <-reached:
	case err := <-done:
		t.Fatalf("the dial returned %v before reaching the switch", err)
	case <-time.After(wait.Safety):
		t.Fatalf("the dial did not reach the switch within %v", wait.Safety)
	}
	return done, release
}

func waitResult(t *testing.T, done <-chan error) error {
	t.Helper()
	return within(t, "Execute", func() error { return <-done })
}

// The switch has a dial and no answer comes before the deadline: the engine
// must see that the switch may have dialled.
func deadlineInDoubt(t *testing.T, h *Harness) {
	ctx := newDeadlineCtx()
	done, _ := held(t, h, ctx)
	ctx.expire()
	err := waitResult(t, done)
	if err == nil {
		t.Fatal("the dial succeeded with no answer from the switch")
	}
	if !MaybeActed(err) {
		t.Fatalf("deadline: %v is neither relay.ErrInDoubt nor a deadline: the engine would dial again", err)
	}
}

// The connection goes while the switch has a dial: in doubt, and not merely
// transient.
func lostConnectionInDoubt(t *testing.T, h *Harness) {
	if h.Drop == nil {
		t.Skip("the switch runs in process: no connection to lose")
	}
	done, _ := held(t, h, context.Background())
	h.Drop()
	err := waitResult(t, done)
	if err == nil {
		t.Fatal("the dial succeeded over a lost connection")
	}
	if !errors.Is(err, relay.ErrInDoubt) {
		t.Fatalf("lost connection: %v does not wrap relay.ErrInDoubt: the engine would dial again", err)
	}
}

// sink records events and fails the test for any that arrives after Close
// has returned.
type sink struct {
	mu      sync.Mutex
	closed  bool
	late    []string
	n       int
	block   chan struct{} // when set, Event waits on it or its ctx
	entered chan struct{} // receives when a blocked Event has begun
}

func newSink() *sink { return &sink{} }

func (s *sink) Event(ctx context.Context, f relay.Frame) {
	s.mu.Lock()
	if s.closed {
		s.late = append(s.late, f.String())
	}
	s.n++
	block, entered := s.block, s.entered
	s.mu.Unlock()
	if block == nil {
		return
	}
	select {
	case entered <- struct{}{}:
	default:
	}
	select {
	case <-block:
	case <-ctx.Done():
	}
}

func (s *sink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

func (s *sink) closedNow() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
}

func (s *sink) check(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.late) > 0 {
		t.Errorf("events after Close returned: %q", s.late)
	}
}

func eventsBetweenOpenAndClose(t *testing.T, h *Harness) {
	if h.Event == nil {
		t.Skip("the harness cannot make the switch send an event")
	}
	s := newSink()
	open(t, h, s)
	h.Event("jose")
	wait.For(t, "an event at the sink", func() bool { return s.count() > 0 })
	// Events keep coming while Close runs and after: none may reach the sink
	// once Close has returned.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				h.Event("jose")
			}
		}
	})
	if err := closeWithin(t, h.Driver); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s.closedNow()
	h.Event("jose")
	close(stop)
	wg.Wait()
	s.check(t)
}

// A sink applying back-pressure (the engine's, while the database is slow)
// must not keep Close from returning.
func closeWhileSinkBlocked(t *testing.T, h *Harness) {
	if h.Event == nil {
		t.Skip("the harness cannot make the switch send an event")
	}
	s := newSink()
	block := make(chan struct{})
	defer close(block)
	s.block, s.entered = block, make(chan struct{}, 1)
	open(t, h, s)
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { h.Event("jose") })
	select {
	case <-s.entered:
	case <-time.After(wait.Safety):
		t.Fatalf("no event reached the sink within %v", wait.Safety)
	}
	if err := closeWithin(t, h.Driver); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s.closedNow()
	s.check(t)
}

// What Supports says the driver can do, Execute does not refuse as
// unsupported; what it says it cannot, Execute refuses so (the engine never
// sends those, but a driver must not answer them as if done).
func supportsAgreesWithExecute(t *testing.T, h *Harness) {
	open(t, h, newSink())
	for _, v := range relay.Verbs {
		frame, ok := Samples[v]
		if !ok {
			t.Fatalf("drivertest has no sample command for verb %s: add one to Samples", v)
		}
		_, err := execute(t, h.Driver, context.Background(), frame)
		refused := err != nil && relay.AsProtocolError(err).Code == relay.CodeUnsupported ||
			err != nil && relay.AsProtocolError(err).Code == relay.CodeUnknownVerb
		if h.Driver.Supports(v) && refused {
			t.Errorf("Supports(%s) is true, yet Execute(%s) = %v", v, frame, err)
		}
		if !h.Driver.Supports(v) && !refused {
			t.Errorf("Supports(%s) is false, yet Execute(%s) = %v, want ERR %s", v, frame, err, relay.CodeUnsupported)
		}
	}
}

// Logins run in parallel, and every answer is for its own login (Tactium
// replies carry no request id).
func concurrentLogins(t *testing.T, h *Harness) {
	open(t, h, newSink())
	const logins, each = 8, 5
	var wg sync.WaitGroup
	errs := make(chan error, logins*each)
	for i := range logins {
		login := fmt.Sprintf("agent%d", i+1)
		cmd := Command(t, "<"+login+"><S>$")
		wg.Go(func() {
			for range each {
				frames, err := h.Driver.Execute(context.Background(), cmd)
				if err != nil {
					errs <- fmt.Errorf("%s S: %w", login, err)
					return
				}
				for _, f := range frames {
					if !strings.EqualFold(f.Login(), login) {
						errs <- fmt.Errorf("%s S answered %s", login, f)
					}
				}
			}
		})
	}
	within(t, "the concurrent commands", func() struct{} { wg.Wait(); return struct{}{} })
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// Health says not connected before Open and after Close, connected once
// the driver is open and its switch up (the link may come up after Open
// returns).
func healthOpenClose(t *testing.T, h *Harness) {
	if got := h.Driver.Health(); got.Connected {
		t.Fatalf("Health before Open = %+v, want not connected", got)
	}
	open(t, h, newSink())
	if h.Link != nil {
		h.Link()
	}
	wait.For(t, "Health connected after Open", func() bool { return h.Driver.Health().Connected })
	if got := h.Driver.Health(); got.Since.IsZero() || got.Standby || got.Reconnects != 0 {
		t.Errorf("Health after Open = %+v, want Since set, not standby, no reconnects", got)
	}
	if err := closeWithin(t, h.Driver); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := h.Driver.Health(); got.Connected || got.Standby {
		t.Fatalf("Health after Close = %+v, want neither connected nor standby", got)
	}
}

// A link cut under a held command and established again counts as a
// reconnect, and the loss is the last error.
func healthReconnects(t *testing.T, h *Harness) {
	if h.Drop == nil {
		t.Skip("the switch runs in process: no link to lose")
	}
	done, release := held(t, h, context.Background())
	wait.For(t, "Health connected", func() bool { return h.Driver.Health().Connected })
	before := h.Driver.Health().Reconnects
	h.Drop()
	_ = waitResult(t, done)
	release()
	wait.For(t, "the link back, counted as a reconnect", func() bool {
		if h.Relink != nil {
			h.Relink()
		}
		got := h.Driver.Health()
		return got.Connected && got.Reconnects > before
	})
	if got := h.Driver.Health(); got.LastError == "" {
		t.Errorf("Health after a lost link = %+v, want the loss as LastError", got)
	}
}
