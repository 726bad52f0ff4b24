package sim

import (
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// agent is one position (PA) at the switch.
type agent struct {
	login   string
	ext     string
	state   relay.AgentState
	pause   string  // the P ON code while paused
	call    *call   // the current call while busy
	last    *call   // the call just ended, while in wrap-up
	wrapEnd *action // the end of a timed wrap-up
}

// availableLocked makes the agent available and gives it the next waiting
// call, if any.
func (s *Switch) availableLocked(a *agent, at time.Time) {
	s.leaveWrapUpLocked(a)
	a.state, a.pause = relay.StateAvailable, ""
	s.serveLocked(a, at)
}

// pauseLocked pauses an available or wrapping-up agent.
func (s *Switch) pauseLocked(a *agent, code string) {
	s.leaveWrapUpLocked(a)
	a.state, a.pause = relay.StatePaused, code
}

// leaveWrapUpLocked forgets the finished call and its wrap-up timer.
func (s *Switch) leaveWrapUpLocked(a *agent) {
	a.wrapEnd.cancel()
	a.wrapEnd, a.last = nil, nil
}

// wrapUpLocked starts wrap-up after call c; it ends by itself when WrapUp is set.
func (s *Switch) wrapUpLocked(a *agent, c *call, at time.Time) {
	a.state, a.last = relay.StateWrapUp, c
	if s.cfg.WrapUp > 0 {
		a.wrapEnd = s.afterLocked(at, s.cfg.WrapUp, func(at time.Time) {
			a.wrapEnd = nil
			s.availableLocked(a, at)
		})
	}
}

// logoffLocked logs the agent off, ending a call in progress with EndCall.
func (s *Switch) logoffLocked(a *agent) {
	if c := a.call; c != nil {
		c.timer.cancel()
		a.call = nil
		s.emitLocked(relay.EndCall(a.login))
	}
	s.leaveWrapUpLocked(a)
	a.state, a.pause = relay.StateLoggedOff, ""
}

// dialerCall is the dialer call TR and C S apply to: the current one, or the
// one just ended while in wrap-up.
func (a *agent) dialerCall() *call {
	c := a.call
	if c == nil && a.state == relay.StateWrapUp {
		c = a.last
	}
	if c == nil || c.Kind != Dialer {
		return nil
	}
	return c
}
