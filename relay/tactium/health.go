package tactium

import (
	"fmt"

	"github.com/ctirelay/ctirelay/relay"
)

// connectedLocked: the monitoring connection is up or, on a relay standing
// by (another one monitors), the last command connection it dialled opened.
// Commands travel on their own connections, so a standby relay still
// reaches the switch.
func (d *Driver) connectedLocked() bool {
	if !d.opened || d.closed {
		return false
	}
	return d.evUp || (d.standby && d.cmdOK)
}

// linkChangedLocked records when Connected changes.
func (d *Driver) linkChangedLocked() {
	if up := d.connectedLocked(); up != d.linkUp {
		d.linkUp, d.since = up, d.cfg.Clock.Now()
	}
}

// Health reports the monitoring connection (relay.DriverHealth): Standby
// while another relay holds the Monitor gate, Reconnects the monitoring
// connections re-established after a loss.
func (d *Driver) Health() relay.DriverHealth {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.linkChangedLocked()
	conns := 0
	for _, ls := range d.logins {
		if ls.conn != nil {
			conns++
		}
	}
	mon := "monitoring"
	switch {
	case d.standby:
		mon = "standby (another relay monitors)"
	case !d.evUp:
		mon = "monitoring connection down"
	}
	return relay.DriverHealth{
		Connected: d.linkUp, Standby: d.standby && d.opened && !d.closed, Since: d.since,
		Reconnects: d.reconnects, LastError: d.lastErr,
		Detail: fmt.Sprintf("%s; %d command connections", mon, conns),
	}
}
