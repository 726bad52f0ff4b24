package sim

import (
	"math/rand/v2"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// interArrival draws the gap to the next call of a Poisson process with the
// given rate per minute.
func interArrival(rng *rand.Rand, perMinute float64) time.Duration {
	d := time.Duration(rng.ExpFloat64() / perMinute * float64(time.Minute))
	return max(d, time.Millisecond)
}

// nextInboundLocked schedules the next inbound arrival after from.
func (s *Switch) nextInboundLocked(from time.Time) {
	s.afterLocked(from, interArrival(s.rngInbound, s.cfg.InboundPerMinute), s.inboundLocked)
}

// inboundLocked is one customer calling in: straight to an available agent,
// into the queue, or busy when the queue is full.
func (s *Switch) inboundLocked(at time.Time) {
	s.nextInboundLocked(at)
	s.inboundArrivalLocked(at)
}

func (s *Switch) inboundArrivalLocked(at time.Time) {
	s.stats.Inbound++
	ddd, phone := brazilianNumber(s.rngInbound)
	c := s.newCallLocked(Inbound, ddd, phone)
	if a := s.pickAvailableLocked(); a != nil {
		s.connectInboundLocked(a, c, at)
		return
	}
	if len(s.queue) >= s.cfg.QueueLength {
		s.stats.Busy++
		s.log.Debug("inbound call turned away: queue full", "caller", ddd+phone)
		return
	}
	s.queue = append(s.queue, c)
	c.timer = s.afterLocked(at, s.cfg.Abandon, func(time.Time) {
		for i, q := range s.queue {
			if q == c {
				s.queue = append(s.queue[:i], s.queue[i+1:]...)
				break
			}
		}
		s.stats.Abandoned++
	})
}

func (s *Switch) connectInboundLocked(a *agent, c *call, at time.Time) {
	s.stats.InboundConnected++
	c.Frame = relay.ReceptiveCall{Login: a.login, OriginDDD: c.DDD, Origin: c.Phone, Dest: a.ext}.Frame()
	s.connectLocked(a, c, at)
}

// serveLocked gives an agent who just became available the oldest waiting
// inbound call, or else a due callback meant for it or for anyone.
func (s *Switch) serveLocked(a *agent, at time.Time) {
	if len(s.queue) > 0 {
		c := s.queue[0]
		s.queue = s.queue[1:]
		c.timer.cancel()
		c.timer = nil
		s.connectInboundLocked(a, c, at)
		return
	}
	for i, cb := range s.due {
		if cb.agent == "" || cb.agent == a.login {
			s.due = append(s.due[:i], s.due[i+1:]...)
			s.placeCallbackLocked(a, cb, at)
			return
		}
	}
}
