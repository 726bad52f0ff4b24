package relaytest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
)

// StressStartStop checks a long-running component against the lifecycle
// contract of relay.StartStop: Start twice, Stop twice and concurrently,
// Stop before Start, Start after Stop (relay.ErrStopped), the end of Start's
// context stopping it, and Start and Stop racing from many goroutines. Run it
// with -race, and with goleak in the package, so a goroutine left behind or a
// data race fails too.
//
// newService builds a fresh, unstarted component each time (it may register
// cleanups on t); whatever it needs to start (a listener, a store) must be
// ready. A component with a Stopped() <-chan struct{} method is also checked
// to close it.
func StressStartStop(t *testing.T, newService func(t *testing.T) relay.Service) {
	t.Helper()
	t.Run("start twice, stop twice and concurrently", func(t *testing.T) {
		svc := newService(t)
		mustStart(t, svc, context.Background())
		mustStart(t, svc, context.Background())
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() { stopWithin(t, svc) })
		}
		wg.Wait()
		stopWithin(t, svc)
		waitStopped(t, svc)
	})
	t.Run("start after stop", func(t *testing.T) {
		svc := newService(t)
		mustStart(t, svc, context.Background())
		stopWithin(t, svc)
		if err := svc.Start(context.Background()); !errors.Is(err, relay.ErrStopped) {
			t.Fatalf("Start after Stop = %v, want relay.ErrStopped", err)
		}
		stopWithin(t, svc)
	})
	t.Run("stop before start", func(t *testing.T) {
		svc := newService(t)
		stopWithin(t, svc)
		waitStopped(t, svc)
		if err := svc.Start(context.Background()); !errors.Is(err, relay.ErrStopped) {
			t.Fatalf("Start after an early Stop = %v, want relay.ErrStopped", err)
		}
		stopWithin(t, svc)
	})
	t.Run("the end of the context stops it", func(t *testing.T) {
		svc := newService(t)
		ctx, cancel := context.WithCancel(context.Background())
		mustStart(t, svc, ctx)
		cancel()
		waitStopped(t, svc)
		wait.For(t, "the component to stop when its context ended", func() bool {
			return errors.Is(svc.Start(context.Background()), relay.ErrStopped)
		})
		stopWithin(t, svc)
	})
	t.Run("start and stop racing", func(t *testing.T) {
		for range 20 {
			svc := newService(t)
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			for i := range 8 {
				wg.Go(func() {
					if i == 7 {
						cancel()
						return
					}
					// A start may also fail because the context ended meanwhile.
					if err := svc.Start(ctx); err != nil && !errors.Is(err, relay.ErrStopped) && !errors.Is(err, context.Canceled) {
						t.Errorf("Start = %v, want nil, relay.ErrStopped or context.Canceled", err)
					}
					stopWithin(t, svc)
				})
			}
			wg.Wait()
			cancel()
			if err := svc.Start(context.Background()); !errors.Is(err, relay.ErrStopped) {
				t.Fatalf("Start after the race = %v, want relay.ErrStopped", err)
			}
			waitStopped(t, svc)
		}
	})
}

func mustStart(t *testing.T, svc relay.Service, ctx context.Context) {
	t.Helper()
	if err := svc.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(svc.Stop)
}

// stopWithin calls Stop and fails the test if it never returns; nothing is
// asserted about how fast it does.
func stopWithin(t *testing.T, svc relay.Service) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); svc.Stop() }()
	select {
	case <-done:
	case <-time.After(wait.Safety):
		t.Errorf("Stop did not return within %v", wait.Safety)
	}
}

// waitStopped waits for Stopped() to close when the component has it.
func waitStopped(t *testing.T, svc relay.Service) {
	t.Helper()
	s, ok := svc.(interface{ Stopped() <-chan struct{} })
	if !ok {
		return
	}
	select {
	case <-s.Stopped():
	case <-time.After(wait.Safety):
		t.Errorf("Stopped() not closed within %v", wait.Safety)
	}
}
