package epbx

import (
	"fmt"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/epbx/signalr"
)

// connectedLocked: open, active, a connection to the hub has opened (the
// hub was reached), the last connection attempt (token, negotiate, start)
// succeeded and no agent's connection is down or reconnecting. Before any
// agent's first connection the driver is idle, not connected: nothing says
// the hub can be reached until one has (connections open at each agent's
// first command). Once one has, agents all logging off leave it connected:
// the last contact reached the hub.
func (d *Driver) connectedLocked() bool {
	if !d.opened || d.closed || d.standby || d.connFailed || !d.reached {
		return false
	}
	for _, s := range d.sessions {
		if s.failing() {
			return false
		}
	}
	return true
}

func (d *Driver) linkChangedLocked() {
	if up := d.connectedLocked(); up != d.linkUp {
		d.linkUp, d.since = up, d.cfg.Clock.Now()
	}
}

func (d *Driver) linkChanged() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.linkChangedLocked()
}

// connectFailed records an agent's connection that could not be opened:
// the token endpoint or the hub refused or is unreachable.
func (d *Driver) connectFailed(login string, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.connFailed, d.lastErr = true, fmt.Sprintf("agent %s: %v", login, err)
	d.linkChangedLocked()
}

func (d *Driver) connectOK() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.connFailed, d.reached = false, true
	d.linkChangedLocked()
}

// onState follows the agent's SignalR connection: a loss is the last
// error, its return (reconnect or restart) a reconnect.
func (s *session) onState(st signalr.State) {
	s.mu.Lock()
	was := s.link
	s.link = st
	s.mu.Unlock()
	d := s.d
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case st == signalr.Reconnecting && was == signalr.Connected:
		d.lastErr = fmt.Sprintf("agent %s: connection lost", s.login)
	case st == signalr.Connected && was == signalr.Reconnecting:
		d.reconnects++
	}
	d.linkChangedLocked()
}

// failing reports a connection that is open and not connected (lost,
// reconnecting or restarting).
func (s *session) failing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sc != nil && s.link != signalr.Connected
}

// Health reports the agents' connections (relay.DriverHealth): Standby
// while another relay holds the switch:epbx lock.
func (d *Driver) Health() relay.DriverHealth {
	d.mu.Lock()
	d.linkChangedLocked()
	h := relay.DriverHealth{
		Connected: d.linkUp, Standby: d.standby && d.opened && !d.closed, Since: d.since,
		Reconnects: d.reconnects, LastError: d.lastErr,
	}
	reached := d.reached
	h.Idle = !reached && !d.connFailed && d.opened && !d.closed && !h.Standby
	ss := make([]*session, 0, len(d.sessions))
	for _, s := range d.sessions {
		ss = append(ss, s)
	}
	d.mu.Unlock()
	var up, down, logged int
	for _, s := range ss {
		c, l := s.status()
		switch {
		case c:
			up++
		case s.failing():
			down++
		}
		if l {
			logged++
		}
	}
	h.Detail = fmt.Sprintf("%d agent connections, %d logged on", up, logged)
	if !reached && !h.Standby {
		h.Detail = "idle: no agent connection yet (each opens at the agent's first command)"
	}
	if down > 0 {
		h.Detail += fmt.Sprintf(", %d reconnecting", down)
	}
	return h
}
