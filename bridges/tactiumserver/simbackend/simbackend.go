// Package simbackend serves the simulated switch (relay/sim) on a
// Tactium-compatible socket server: `ctirelay sim` and the driver's tests use
// it. It lives apart so the server core depends on no switch.
package simbackend

import (
	"context"

	"github.com/ctirelay/ctirelay/bridges/tactiumserver"
	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/sim"
)

// Backend serves the simulated switch: each command goes to its Handle.
type Backend struct{ Switch *sim.Switch }

// Command implements tactiumserver.Backend.
func (b Backend) Command(ctx context.Context, _ *tactiumserver.Session, cmd relay.Command) ([]relay.Frame, error) {
	return b.Switch.Handle(ctx, cmd)
}

// MirrorEvents publishes the switch's events on srv until the returned stop
// function is called or the switch stops. buffer is how many events may wait
// (Publish never blocks, so it only absorbs bursts). stop waits until the
// mirroring has ended and is safe to call twice.
func MirrorEvents(sw *sim.Switch, srv *tactiumserver.Server, buffer int) (stop func()) {
	events, unsubscribe := sw.Subscribe(buffer)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for f := range events {
			srv.Publish(f)
		}
	}()
	return func() {
		unsubscribe()
		<-done
	}
}
