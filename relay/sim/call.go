package sim

import (
	"slices"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// CallKind says where a call came from.
type CallKind int

const (
	Inbound CallKind = iota + 1 // a customer called in (R event)
	Manual                      // the agent dialled with A
	Dialer                      // the automatic dialer connected a customer (A event with attach info)
)

func (k CallKind) String() string {
	switch k {
	case Inbound:
		return "inbound"
	case Manual:
		return "manual"
	case Dialer:
		return "dialer"
	}
	return "unknown"
}

// Call describes a call as tests and status pages see it.
type Call struct {
	ID        int64 // switch-wide call counter
	Kind      CallKind
	DDD       string // the customer's area code
	Phone     string // the customer's number
	Service   string // A's service or campaign; the dialer's campaign
	Answered  bool   // manual calls: the callee picked up
	Recording string // the G address once recording started
	Outcome   string // the last C S outcome (dialer calls)
	// Consult is the party called with CONS while this call is on hold.
	Consult string
	// Participants are those added with CONF ADD; Conference is set once
	// CONF ON started the conference with them.
	Participants []string
	Conference   bool
	// Frame is the A or R frame announcing the call, which AC answers with.
	Frame relay.Frame
}

// call is a Call in the model, with its pending timer (answer or hang-up).
type call struct {
	Call
	item       string // the dialer's mailing item (the A event's id)
	dialerInfo string // the dialer attach-info field, reused for callbacks
	timer      *action
}

func (c *call) snapshot() Call {
	out := c.Call
	out.Frame = slices.Clone(c.Frame)
	out.Participants = slices.Clone(c.Participants)
	return out
}

func (s *Switch) newCallLocked(kind CallKind, ddd, phone string) *call {
	s.lastCall++
	return &call{Call: Call{ID: s.lastCall, Kind: kind, DDD: ddd, Phone: phone}}
}

// connectLocked puts an answered call through to the agent: the A or R event,
// then the recording address, then the hang-up after the talk time.
func (s *Switch) connectLocked(a *agent, c *call, at time.Time) {
	a.state, a.call = relay.StateBusy, c
	s.answerLocked(a, c, at)
}

// answerLocked announces the call, starts its recording and times its end.
func (s *Switch) answerLocked(a *agent, c *call, at time.Time) {
	c.Answered = true
	s.emitLocked(slices.Clone(c.Frame))
	c.Recording = recordingPath(s.cfg.RecordingDir, a.ext, at, c.ID)
	s.emitLocked(relay.Recording(a.login, c.Recording))
	if d := s.talkTimeLocked(); d > 0 {
		c.timer = s.afterLocked(at, d, func(at time.Time) { s.hangUpLocked(a, at, true) })
	}
}

// hangUpLocked ends the agent's current call (with an EndCall event when the
// other side hung up; D answers EndCall itself) and starts wrap-up.
func (s *Switch) hangUpLocked(a *agent, at time.Time, event bool) {
	c := a.call
	c.timer.cancel()
	a.call = nil
	if event {
		s.emitLocked(relay.EndCall(a.login))
	}
	s.wrapUpLocked(a, c, at)
}

// talkTimeLocked draws one call's talk time.
func (s *Switch) talkTimeLocked() time.Duration {
	d := s.cfg.TalkTime
	if d <= 0 || s.cfg.TalkJitter == 0 {
		return d
	}
	f := 1 + s.cfg.TalkJitter*(2*s.rngTalk.Float64()-1)
	return max(time.Duration(float64(d)*f), time.Millisecond)
}

// dialLocked places the agent's A call: busy at once, the callee answers
// after the ring time (or never, for the no-answer test numbers).
func (s *Switch) dialLocked(a *agent, ddd, phone, service string, now time.Time) {
	s.stats.Dialled++
	c := s.newCallLocked(Manual, ddd, phone)
	c.Service = service
	c.Frame = relay.ActiveCall{Login: a.login, Origin: a.ext, DestDDD: ddd, Dest: phone, Description: service}.Frame()
	a.state, a.call = relay.StateBusy, c
	c.timer = s.afterLocked(now, s.cfg.RingTime, func(at time.Time) {
		c.timer = nil
		if neverAnswers(phone) {
			s.hangUpLocked(a, at, true)
			return
		}
		s.answerLocked(a, c, at)
	})
}
