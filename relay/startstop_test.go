package relay_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest"
)

// counted is the smallest component on relay.StartStop: a goroutine that runs
// from start to stop, with counts to check each runs once.
type counted struct {
	life           relay.StartStop
	starts, stops  atomic.Int32
	failNext       atomic.Bool
	quit, finished chan struct{}
}

func (c *counted) Start(ctx context.Context) error {
	return c.life.Start(ctx, func(context.Context) (func(), error) {
		if c.failNext.Swap(false) {
			return nil, errors.New("cannot start")
		}
		c.starts.Add(1)
		c.quit, c.finished = make(chan struct{}), make(chan struct{})
		go func() { defer close(c.finished); <-c.quit }()
		return func() {
			c.stops.Add(1)
			close(c.quit)
			<-c.finished
		}, nil
	})
}

func (c *counted) Stop()                    { c.life.Stop() }
func (c *counted) Stopped() <-chan struct{} { return c.life.Stopped() }

func TestStartStopContract(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	var all []*counted
	relaytest.StressStartStop(t, func(t *testing.T) relay.Service {
		c := &counted{}
		all = append(all, c)
		return c
	})
	for _, c := range all {
		if s, p := c.starts.Load(), c.stops.Load(); s > 1 || s != p {
			t.Fatalf("started %d times, stopped %d times", s, p)
		}
	}
}

func TestStartStopFailedStartCanBeRetried(t *testing.T) {
	t.Parallel()
	c := &counted{}
	c.failNext.Store(true)
	if err := c.Start(context.Background()); err == nil {
		t.Fatal("Start succeeded")
	}
	select {
	case <-c.Stopped():
		t.Fatal("a failed start stopped the component")
	default:
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatalf("second Start: %v", err)
	}
	c.Stop()
	if c.starts.Load() != 1 || c.stops.Load() != 1 {
		t.Fatalf("starts %d, stops %d", c.starts.Load(), c.stops.Load())
	}
}
