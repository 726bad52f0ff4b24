package tactium_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/bridges/tactiumserver"
	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/drivertest"
	"github.com/ctirelay/ctirelay/relay/relaytest"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
	"github.com/ctirelay/ctirelay/relay/sim"
	"github.com/ctirelay/ctirelay/relay/tactium"
)

// holdBackend passes commands to the simulated switch, or, while holding,
// keeps them unanswered until released or their connection closes.
type holdBackend struct {
	drivertest.Holder
	next tactiumserver.Backend // set before the server starts
}

func (b *holdBackend) Command(ctx context.Context, x *tactiumserver.Session, cmd relay.Command) ([]relay.Frame, error) {
	if release := b.Arrive(); release != nil {
		select {
		case <-release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return b.next.Command(ctx, x, cmd)
}

// TestDriverSuite runs the driver suite against ctirelay's own server
// serving the simulated switch.
func TestDriverSuite(t *testing.T) {
	drivertest.Run(t, func(t *testing.T) *drivertest.Harness {
		backend := &holdBackend{}
		s := startSimServer(t, &tactiumserver.Server{Backend: backend}, sim.Config{Seed: 1})
		clock := relaytest.NewClock(epoch)
		d := newDriver(t, tactium.Config{Addr: s.addr(), Clock: clock})
		var monitored sync.Once
		return &drivertest.Harness{
			Driver: d,
			Hold:   backend.Hold,
			// The connections close under the driver; the server stays.
			Drop: func() {
				for _, x := range s.srv.Sessions() {
					x.Close()
				}
			},
			// The monitoring connection comes back after a backoff.
			Relink: func() { clock.Advance(time.Minute) },
			Event: func(login string) {
				// Published only to connections bound by then: the first
				// event waits for the driver's ADMSOCKET logon.
				monitored.Do(func() {
					wait.For(t, "the monitoring connection", func() bool { return s.srv.Stats().Monitoring > 0 })
				})
				for _, frame := range []string{"<" + login + "><L><ON>$", "<" + login + "><D>$", "<" + login + "><POS><OFF>$", "<" + login + "><A><85><40050500><>$"} {
					_, _ = s.sw.Handle(context.Background(), drivertest.Command(t, frame))
				}
			},
		}
	})
}
