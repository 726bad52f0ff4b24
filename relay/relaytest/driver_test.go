package relaytest_test

import (
	"context"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/drivertest"
	"github.com/ctirelay/ctirelay/relay/relaytest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The engine's tests run on the fake driver: it passes the suite real drivers do.
func TestDriverSuite(t *testing.T) {
	drivertest.Run(t, func(t *testing.T) *drivertest.Harness {
		d := &relaytest.Driver{Unsupported: map[relay.Verb]bool{relay.VerbCallback: true}}
		return &drivertest.Harness{
			Driver: d,
			// Set before the command to hold is sent, so no Execute reads
			// the fields meanwhile.
			Hold: func() (<-chan struct{}, func()) {
				started, reached := make(chan relay.Command, 16), make(chan struct{}, 16)
				gate, quit := make(chan struct{}), make(chan struct{})
				d.Gate, d.Started = gate, started
				go func() {
					for {
						select {
						case <-started:
							select {
							case reached <- struct{}{}:
							default:
							}
						case <-quit:
							return
						}
					}
				}()
				return reached, sync.OnceFunc(func() { close(gate); close(quit) })
			},
			Drop:  d.Drop,
			Event: func(login string) { d.Emit(context.Background(), relay.NewFrame(login, "EndCall")) },
		}
	})
}
