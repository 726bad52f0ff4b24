package tactium

import (
	"context"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/sim"
)

// SwitchBackend serves the simulated switch: each command goes to its Handle.
type SwitchBackend struct{ Switch *sim.Switch }

// Command implements Backend.
func (b SwitchBackend) Command(ctx context.Context, _ *Session, cmd relay.Command) ([]relay.Frame, error) {
	return b.Switch.Handle(ctx, cmd)
}

// MirrorEvents publishes the switch's events on srv until the returned stop
// function is called or the switch stops. buffer is how many events may wait
// (Publish never blocks, so it only absorbs bursts). stop waits until the
// mirroring has ended and is safe to call twice.
func MirrorEvents(sw *sim.Switch, srv *Server, buffer int) (stop func()) {
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
