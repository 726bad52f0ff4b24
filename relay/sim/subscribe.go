package sim

import (
	"sync"

	"github.com/ctirelay/ctirelay/relay"
)

// subscription carries the switch's events to one reader, in the order the
// switch produced them. Events wait in queue (bounded by bound); while any
// subscriber's queue is full the switch holds back: due call events and new
// commands wait until the reader catches up, so nothing is dropped.
type subscription struct {
	ch        chan relay.Frame
	queue     []relay.Frame
	bound     int
	holding   bool  // the pump has taken a frame and not yet handed it over
	delivered int64 // frames handed over
	ready     chan struct{}
	done      chan struct{}
	exited    chan struct{}
	once      sync.Once
}

// Subscribe returns the stream of unsolicited events (A, R, G, EndCall) and a
// function that ends it. buffer is how many events may wait for the reader
// (at least 1). The channel is closed when the subscription ends or the
// switch stops. A reader that stops reading without cancelling stalls the
// switch: that is the back-pressure.
func (s *Switch) Subscribe(buffer int) (<-chan relay.Frame, func()) {
	sub := &subscription{
		ch:     make(chan relay.Frame),
		bound:  max(buffer, 1),
		ready:  make(chan struct{}, 1),
		done:   make(chan struct{}),
		exited: make(chan struct{}),
	}
	s.mu.Lock()
	if s.stoppedLocked() {
		s.mu.Unlock()
		close(sub.ch)
		return sub.ch, func() {}
	}
	s.subs = append(s.subs, sub)
	s.mu.Unlock()
	go s.pump(sub)
	return sub.ch, func() { s.unsubscribe(sub) }
}

// emitLocked hands one event to every subscriber. With none, the event has
// no audience, as on a real switch with no monitoring connection.
func (s *Switch) emitLocked(f relay.Frame) {
	s.log.Debug("event", "frame", f.String())
	for _, sub := range s.subs {
		sub.queue = append(sub.queue, f)
		select {
		case sub.ready <- struct{}{}:
		default:
		}
	}
}

// roomLocked reports whether every subscriber can take more events.
func (s *Switch) roomLocked() bool {
	for _, sub := range s.subs {
		if len(sub.queue) >= sub.bound {
			return false
		}
	}
	return true
}

// pump moves one subscriber's events from its queue to its channel.
func (s *Switch) pump(sub *subscription) {
	defer close(sub.exited)
	defer close(sub.ch)
	for {
		s.mu.Lock()
		if len(sub.queue) == 0 {
			s.mu.Unlock()
			select {
			case <-sub.ready:
				continue
			case <-sub.done:
				return
			}
		}
		f := sub.queue[0]
		sub.queue[0] = nil
		sub.queue = sub.queue[1:]
		sub.holding = true
		if len(sub.queue) == sub.bound-1 {
			s.pokeLocked() // room again: wake the scheduler and waiting commands
		}
		s.mu.Unlock()
		select {
		case sub.ch <- f:
		case <-sub.done:
			return
		}
		s.mu.Lock()
		sub.holding = false
		sub.delivered++
		s.mu.Unlock()
	}
}

// unsubscribe ends a subscription and waits until its channel is closed.
func (s *Switch) unsubscribe(sub *subscription) {
	sub.once.Do(func() {
		close(sub.done)
		s.mu.Lock()
		for i, x := range s.subs {
			if x == sub {
				s.subs = append(s.subs[:i], s.subs[i+1:]...)
				break
			}
		}
		n := len(sub.queue)
		if sub.holding {
			n++
		}
		if n > 0 {
			s.log.Warn("subscription ended with events not delivered", "events", n)
		}
		sub.queue = nil
		s.pokeLocked()
		s.mu.Unlock()
	})
	<-sub.exited
}

func (s *Switch) closeSubscriptions() {
	s.mu.Lock()
	subs := append([]*subscription(nil), s.subs...)
	s.mu.Unlock()
	for _, sub := range subs {
		s.unsubscribe(sub)
	}
}
