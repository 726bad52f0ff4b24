package relay

import (
	"context"
	"errors"
	"sync"
)

// ErrStopped is returned by Start once a component has been stopped.
var ErrStopped = errors.New("stopped")

// Service is a long-running component: the engine, the heartbeat, a bridge,
// a server. relaytest.StressStartStop checks one against the contract
// StartStop implements.
type Service interface {
	Start(ctx context.Context) error
	Stop()
}

// StartStop is the one lifecycle every long-running component shares. A
// component keeps one as a field and forwards Start and Stop to it:
//
//   - Start runs the component's start function once and returns its error.
//     A start that fails leaves nothing running and the component
//     unstarted: Start may be tried again. Start while running does nothing.
//   - Stop runs the stop function the start returned, once, and every call,
//     concurrent ones included, returns when it has finished. Stop twice is
//     safe; Stop before Start leaves the component stopped, and Stop during
//     a start waits for it, then stops what it started.
//   - The end of the context given to Start stops the component as Stop
//     does (at once, for a context that has already ended). Pass
//     context.WithoutCancel to keep it running until Stop.
//   - Start after Stop returns ErrStopped: a component runs once; build a
//     new one to run again.
//
// Start and Stop may be called from any goroutines at once. The zero value is
// ready to use.
type StartStop struct {
	mu      sync.Mutex
	state   lifeState
	stop    func()
	unwatch func() bool   // stops watching Start's context
	done    chan struct{} // closed once stopped
}

type lifeState int

const (
	lifeIdle lifeState = iota
	lifeRunning
	lifeStopping
	lifeStopped
)

// Start runs start unless the component is running or stopped. start gets
// Start's context for the work of starting (opening, registering); what runs
// afterwards must not depend on it, as stop is what ends it. stop is called
// once, by Stop or when ctx ends. start runs under the lifecycle's lock, so
// it must not call Stop or Stopped itself.
func (l *StartStop) Start(ctx context.Context, start func(ctx context.Context) (stop func(), err error)) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch l.state {
	case lifeRunning:
		return nil
	case lifeStopping, lifeStopped:
		return ErrStopped
	}
	stop, err := start(ctx)
	if err != nil {
		return err
	}
	l.state, l.stop = lifeRunning, stop
	// Stop runs on a goroutine of its own when ctx ends; unwatch in Stop
	// keeps a context that ends later from starting one.
	l.unwatch = context.AfterFunc(ctx, l.Stop)
	return nil
}

// Stop stops the component and returns once it has stopped.
func (l *StartStop) Stop() {
	l.mu.Lock()
	done := l.doneLocked()
	switch l.state {
	case lifeIdle:
		l.state = lifeStopped
		close(done)
		l.mu.Unlock()
		return
	case lifeStopping, lifeStopped:
		l.mu.Unlock()
		<-done
		return
	}
	l.state = lifeStopping
	stop, unwatch := l.stop, l.unwatch
	l.mu.Unlock()

	unwatch()
	stop()
	l.mu.Lock()
	l.state, l.stop, l.unwatch = lifeStopped, nil, nil
	l.mu.Unlock()
	close(done)
}

// Stopped is closed once the component has stopped, by Stop or by the end of
// Start's context.
func (l *StartStop) Stopped() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.doneLocked()
}

func (l *StartStop) doneLocked() chan struct{} {
	if l.done == nil {
		l.done = make(chan struct{})
	}
	return l.done
}
