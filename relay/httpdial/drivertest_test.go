package httpdial_test

import (
	"context"
	"testing"

	"github.com/ctirelay/ctirelay/relay/drivertest"
	"github.com/ctirelay/ctirelay/relay/httpdial"
)

// TestDriverSuite runs the driver suite against a test platform; the
// switch's events are the platform's notifications, given to Notify.
func TestDriverSuite(t *testing.T) {
	drivertest.Run(t, func(t *testing.T) *drivertest.Harness {
		p := newPlatform(t)
		cfg := p.config(t)
		cfg.Agents = map[string]httpdial.Agent{"jose": {Extension: "3501"}}
		for i, login := range []string{"agent1", "agent2", "agent3", "agent4", "agent5", "agent6", "agent7", "agent8"} {
			cfg.Agents[login] = httpdial.Agent{Extension: string(rune('1'+i)) + "000"}
		}
		d := newDriver(t, cfg)
		return &drivertest.Harness{
			Driver: d,
			Hold:   p.Hold,
			Drop:   p.srv.CloseClientConnections,
			// The platform is reached per request: the next one relinks.
			Relink: func() { _, _ = d.Execute(context.Background(), drivertest.Command(t, "<jose><A><85><40050500><>$")) },
			Event: func(login string) {
				ext := cfg.Agents[login].Extension
				// Returns at once once the driver is closed (ErrClosed).
				_ = d.Notify(context.Background(), httpdial.Notification{Event: httpdial.EventEnd, Direction: httpdial.Outbound, Origin: ext})
			},
		}
	})
}
