package epbx_test

import (
	"context"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/ctirelay/ctirelay/relay/drivertest"
	"github.com/ctirelay/ctirelay/relay/epbx/epbxfake"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestDriverSuite runs the driver suite against the fake EPBX serving the
// simulated switch.
func TestDriverSuite(t *testing.T) {
	drivertest.Run(t, func(t *testing.T) *drivertest.Harness {
		e := newEnv(t, epbxfake.Config{})
		d := e.driver(t, nil)
		var logon sync.Once
		return &drivertest.Harness{
			Driver: d,
			Hold:   e.hub.Hold,
			Drop:   e.srv.Drop,
			// Idle until an agent's connection opens (Health).
			Link: func() { _, _ = d.Execute(context.Background(), drivertest.Command(t, "<jose><L><ON>$")) },
			Event: func(login string) {
				// The hub talks to the connection an agent's logon opened.
				logon.Do(func() { _, _ = d.Execute(context.Background(), drivertest.Command(t, "<"+login+"><L><ON>$")) })
				for _, c := range e.srv.Conns() {
					if c.User == login {
						c.Send("onChamada", map[string]string{"Ramal": "7001"}, map[string]any{"CanalId": "1", "Telefone": "11987654321", "Direcao": 2})
						c.Send("onDesliga", map[string]string{"Ramal": "7001"}, map[string]any{"CanalId": "1"})
					}
				}
			},
		}
	})
}
