package tactium_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/bridges/tactiumserver"
	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
	"github.com/ctirelay/ctirelay/relay/sim"
	"github.com/ctirelay/ctirelay/relay/tactium"
)

// fixedBackoff waits exactly d between attempts.
func fixedBackoff(d time.Duration) relay.Backoff {
	return relay.Backoff{Base: 2 * d, Max: 2 * d, Rand: func() float64 { return 0 }}
}

func TestDriverConnectionLostMidCommand(t *testing.T) {
	t.Parallel()
	tests := []string{
		"<jose><P><OFF>$",
		"<jose><S>$",
		"<jose><AC>$",
		"<jose><A><85><40050500><>$",
		"<jose><TR><17/08/2010 15:00><40050500><jose>$",
		"<jose><C><S><EletronicResponse>$",
		"<jose><D>$",
	}
	for _, frame := range tests {
		t.Run(frame, func(t *testing.T) {
			t.Parallel()
			identified := false
			fake := startFake(t, func(got string) string {
				if got == "<jose><S>$" && !identified {
					identified = true
					return "<jose><S><1>$"
				}
				return drop // the switch goes away with the command
			})
			d := newDriver(t, tactium.Config{Addr: fake.addr()})
			cmd := command(t, frame)
			_, err := d.Execute(t.Context(), cmd)
			checkInDoubt(t, err, cmd.Verb)
			if !strings.Contains(err.Error(), "connection lost") {
				t.Fatalf("err = %v, want it to say the connection was lost", err)
			}
		})
	}
}

func TestDriverSwitchDown(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now

	clock := relaytest.NewClock(epoch)
	d := newDriver(t, tactium.Config{Addr: addr, Clock: clock, Backoff: fixedBackoff(time.Second)})
	if err := d.Open(t.Context(), newSink()); err != nil {
		t.Fatalf("Open with the switch down = %v, want nil (commands fail as transient meanwhile)", err)
	}
	if !clock.WaitForWaiters(1, safety) {
		t.Fatal("the monitoring connection is not waiting to retry")
	}
	for _, frame := range []string{"<jose><A><85><40050500><>$", "<jose><S>$"} {
		cmd := command(t, frame)
		_, err := d.Execute(t.Context(), cmd)
		if !relay.IsTransient(err) || errors.Is(err, tactium.ErrInDoubt) || !strings.Contains(err.Error(), "not sent") {
			t.Fatalf("Execute(%s) with the switch down = %v, want transient, not sent", frame, err)
		}
	}
	// Within the backoff no dial is even tried.
	_, err = d.Execute(t.Context(), command(t, "<jose><S>$"))
	if !relay.IsTransient(err) || !strings.Contains(err.Error(), "switch unreachable, next attempt in 1s") {
		t.Fatalf("Execute within the backoff = %v", err)
	}

	// The switch comes back at the same address.
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s again: %v", addr, err)
	}
	ln.Close()
	s := startSimServer(t, &tactiumserver.Server{Addr: addr}, sim.Config{Seed: 1})
	clock.Advance(time.Second)
	if got := execute(t, d, "<jose><L><ON>$"); got != "<jose><OK>$" {
		t.Fatalf("after the switch came back: %s", got)
	}
	wait.For(t, "the monitoring connection", func() bool { return s.srv.Stats().Monitoring == 1 })
}

func TestDriverReplyTimeout(t *testing.T) {
	t.Parallel()
	for _, frame := range []string{"<jose><A><85><40050500><>$", "<jose><P><OFF>$"} {
		t.Run(frame, func(t *testing.T) {
			t.Parallel()
			fake := startFake(t, func(got string) string {
				if got == "<jose><S>$" {
					return "<jose><S><1>$"
				}
				if got == "<jose><L><ON>$" {
					return "<jose><OK>$"
				}
				return "" // never answers
			})
			clock := relaytest.NewClock(epoch)
			d := newDriver(t, tactium.Config{Addr: fake.addr(), Clock: clock, ReplyTimeout: 10 * time.Second})
			cmd := command(t, frame)
			done := make(chan error, 1)
			go func() {
				_, err := d.Execute(t.Context(), cmd)
				done <- err
			}()
			fake.waitSeen(t, frame)
			// One timer from identifying the connection, one for the command.
			if !clock.WaitForWaiters(2, safety) {
				t.Fatal("the command is not waiting on the clock")
			}
			clock.Advance(10 * time.Second)
			err := <-done
			checkInDoubt(t, err, cmd.Verb)
			if !strings.Contains(err.Error(), "no reply within the reply timeout") {
				t.Fatalf("err = %v", err)
			}
			// The connection that may still carry the late answer is gone: the
			// next command identifies a fresh one.
			if got := execute(t, d, "<jose><L><ON>$"); got != "<jose><OK>$" {
				t.Fatalf("next command = %s", got)
			}
			want := "c1 <jose><S>$|c1 " + frame + "|c2 <jose><S>$|c2 <jose><L><ON>$"
			if got := strings.Join(fake.received(), "|"); got != want {
				t.Fatalf("server received %s, want %s", got, want)
			}
		})
	}
}

// manualCtx is a context whose deadline passes when the test says so.
type manualCtx struct {
	context.Context
	done chan struct{}
}

func (c manualCtx) Done() <-chan struct{} { return c.done }
func (c manualCtx) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

func TestDriverCallerDeadlineWhileWaiting(t *testing.T) {
	t.Parallel()
	fake := startFake(t, func(got string) string {
		if got == "<jose><S>$" {
			return "<jose><S><1>$"
		}
		return ""
	})
	d := newDriver(t, tactium.Config{Addr: fake.addr()})
	ctx := manualCtx{Context: context.Background(), done: make(chan struct{})}
	cmd := command(t, "<jose><A><85><40050500><>$")
	done := make(chan error, 1)
	go func() {
		_, err := d.Execute(ctx, cmd)
		done <- err
	}()
	fake.waitSeen(t, "<jose><A><85><40050500><>$")
	close(ctx.done)
	checkInDoubt(t, <-done, cmd.Verb)
}

func TestDriverOneCommandInFlightPerLogin(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	fake := startFake(t, func(got string) string {
		switch got {
		case "<jose><S>$", "<maria><S>$":
			return got[:len(got)-1] + "<1>$"
		case "<jose><P><OFF>$":
			<-release
			return "<jose><OK>$"
		}
		return got[:strings.IndexByte(got, '>')+1] + "<OK>$"
	})
	d := newDriver(t, tactium.Config{Addr: fake.addr()})
	first := make(chan string, 1)
	go func() { first <- execute(t, d, "<jose><P><OFF>$") }()
	fake.waitSeen(t, "<jose><P><OFF>$")

	// A second command for jose waits for the first; given up on, it was
	// never sent.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := d.Execute(ctx, command(t, "<jose><POS><OFF>$"))
	if !relay.IsTransient(err) || errors.Is(err, tactium.ErrInDoubt) || !errors.Is(err, context.Canceled) {
		t.Fatalf("second command for jose = %v, want transient, not sent", err)
	}
	// Other agents are not held up, and "JOSE" is the same agent as "jose".
	if got := execute(t, d, "<maria><P><OFF>$"); got != "<maria><OK>$" {
		t.Fatalf("maria = %s", got)
	}
	_, err = d.Execute(ctx, command(t, "<JOSE><POS><OFF>$"))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("JOSE while jose is busy = %v, want it to wait", err)
	}
	close(release)
	if got := <-first; got != "<jose><OK>$" {
		t.Fatalf("first = %s", got)
	}
	if got := execute(t, d, "<jose><POS><OFF>$"); got != "<jose><OK>$" {
		t.Fatalf("after the first: %s", got)
	}
	for _, got := range fake.received() {
		if strings.HasSuffix(got, "<JOSE><POS><OFF>$") {
			t.Fatalf("a command given up on was sent: %s", got)
		}
	}
}

func TestDriverReconnectsAfterServerRestart(t *testing.T) {
	t.Parallel()
	s := startSimServer(t, &tactiumserver.Server{}, sim.Config{Seed: 1})
	addr := s.addr()
	clock := relaytest.NewClock(epoch)
	d := newDriver(t, tactium.Config{Addr: addr, Clock: clock, Backoff: fixedBackoff(time.Second)})
	events := newSink()
	if err := d.Open(t.Context(), events); err != nil {
		t.Fatal(err)
	}
	wait.For(t, "the monitoring connection", func() bool { return s.srv.Stats().Monitoring == 1 && d.Status().Monitoring })
	if got := execute(t, d, "<jose><L><ON>$"); got != "<jose><OK>$" {
		t.Fatalf("L ON = %s", got)
	}

	pending := clock.Waiters() // reply timers of the commands so far, never fired
	s.close()                  // the switch restarts: every connection drops
	if !clock.WaitForWaiters(pending+1, safety) {
		t.Fatal("the driver is not waiting to reconnect")
	}
	wait.For(t, "the driver to notice", func() bool { st := d.Status(); return !st.Monitoring && st.CommandConns == 0 })
	if _, err := d.Execute(t.Context(), command(t, "<jose><S>$")); !relay.IsTransient(err) || errors.Is(err, tactium.ErrInDoubt) {
		t.Fatalf("Execute while the switch is away = %v, want transient, not sent", err)
	}

	s2 := startSimServer(t, &tactiumserver.Server{Addr: addr}, sim.Config{Seed: 1})
	clock.Advance(time.Second)
	wait.For(t, "the monitoring connection again", func() bool { return s2.srv.Stats().Monitoring == 1 })
	if got := execute(t, d, "<jose><L><ON>$"); got != "<jose><OK>$" {
		t.Fatalf("L ON after the restart = %s", got)
	}
	if got := execute(t, d, "<jose><A><85><40050500><>$"); got != "<jose><OK>$" {
		t.Fatalf("A after the restart = %s", got)
	}
	events.expect(t, "<jose><A><><><7001><85><40050500><><><>$")
}

func TestDriverCloseFailsCommandsInFlight(t *testing.T) {
	t.Parallel()
	fake := startFake(t, func(got string) string {
		if got == "<jose><S>$" {
			return "<jose><S><1>$"
		}
		return ""
	})
	d := newDriver(t, tactium.Config{Addr: fake.addr()})
	if err := d.Open(t.Context(), newSink()); err != nil {
		t.Fatal(err)
	}
	fake.monitor(t)
	cmd := command(t, "<jose><A><85><40050500><>$")
	done := make(chan error, 1)
	go func() {
		_, err := d.Execute(t.Context(), cmd)
		done <- err
	}()
	fake.waitSeen(t, "<jose><A><85><40050500><>$")
	d.Close()
	d.Close()
	checkInDoubt(t, <-done, cmd.Verb)
	_, err := d.Execute(t.Context(), command(t, "<jose><S>$"))
	if !relay.IsTransient(err) || !errors.Is(err, tactium.ErrClosed) {
		t.Fatalf("Execute after Close = %v", err)
	}
	if err := d.Open(t.Context(), newSink()); !errors.Is(err, tactium.ErrClosed) {
		t.Fatalf("Open after Close = %v", err)
	}
}
