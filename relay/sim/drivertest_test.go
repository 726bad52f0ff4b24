package sim

import (
	"context"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay/drivertest"
	"github.com/ctirelay/ctirelay/relay/relaytest"
)

// think is the switch's think time in the suite: the one wait holdClock can
// hold, a value nothing else in the switch waits for.
const think = 1234567 * time.Nanosecond

// holdClock is a manual clock whose think-time waits end at once, or, while
// holding, when the hold is released.
type holdClock struct {
	*relaytest.Clock
	drivertest.Holder
}

func (c *holdClock) After(d time.Duration) <-chan time.Time {
	if d != think {
		return c.Clock.After(d)
	}
	at := make(chan time.Time, 1)
	release := c.Arrive()
	if release == nil {
		at <- time.Time{}
		return at
	}
	go func() { <-release; at <- time.Time{} }() // ends at release, which the suite always calls
	return at
}

func TestDriverSuite(t *testing.T) {
	drivertest.Run(t, func(t *testing.T) *drivertest.Harness {
		clock := &holdClock{Clock: relaytest.NewClock(t0)}
		sw, err := New(Config{Seed: 1, Clock: clock, ThinkTime: think})
		if err != nil {
			t.Fatal(err)
		}
		d := NewDriver(sw)
		t.Cleanup(func() { d.Close() })
		return &drivertest.Harness{
			Driver: d,
			Hold:   clock.Hold,
			// Ending any call and dialling again: EndCall, then the new
			// call's A and G.
			Event: func(login string) {
				for _, frame := range []string{"<" + login + "><L><ON>$", "<" + login + "><D>$", "<" + login + "><POS><OFF>$", "<" + login + "><A><85><40050500><>$"} {
					_, _ = sw.Handle(context.Background(), drivertest.Command(t, frame))
				}
			},
		}
	})
}
