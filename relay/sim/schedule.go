package sim

import (
	"container/heap"
	"time"
)

// action is something the switch does at a point of simulated time: a callee
// answering, a caller hanging up, wrap-up ending, the next call arriving.
// Actions run in (at, seq) order, and an action schedules its successors from
// its own time rather than from the clock, so the events do not depend on how
// the clock was stepped.
type action struct {
	at        time.Time
	seq       uint64
	run       func(at time.Time)
	cancelled bool
}

// cancel keeps a pending action from running; nil is allowed.
func (a *action) cancel() {
	if a != nil {
		a.cancelled = true
	}
}

type actionHeap []*action

func (h actionHeap) Len() int { return len(h) }
func (h actionHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h actionHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *actionHeap) Push(x any)   { *h = append(*h, x.(*action)) }
func (h *actionHeap) Pop() any {
	old := *h
	a := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return a
}

// afterLocked schedules fn at from+d.
func (s *Switch) afterLocked(from time.Time, d time.Duration, fn func(at time.Time)) *action {
	s.seq++
	a := &action{at: from.Add(d), seq: s.seq, run: fn}
	heap.Push(&s.actions, a)
	s.pokeLocked()
	return a
}

// nextLocked is the time of the earliest live action.
func (s *Switch) nextLocked() (time.Time, bool) {
	for len(s.actions) > 0 {
		if a := s.actions[0]; !a.cancelled {
			return a.at, true
		}
		heap.Pop(&s.actions)
	}
	return time.Time{}, false
}

// advanceLocked runs every action due by now, in order, as long as the
// subscribers have room for what they emit. It reports whether it caught up.
func (s *Switch) advanceLocked(now time.Time) bool {
	for {
		at, ok := s.nextLocked()
		if !ok || at.After(now) {
			return true
		}
		if !s.roomLocked() {
			return false
		}
		a := heap.Pop(&s.actions).(*action)
		a.run(a.at)
	}
}

// pokeLocked wakes everything waiting for the switch to change: the
// scheduler, commands waiting for room, tests waiting for quiet.
func (s *Switch) pokeLocked() {
	s.idle = false
	close(s.changed)
	s.changed = make(chan struct{})
}

// run is the scheduler: it keeps simulated time up with the clock, waiting
// for the next action, for subscribers to make room, or for a new action.
func (s *Switch) run() {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		now := s.clock.Now()
		caught := s.advanceLocked(now)
		var timer <-chan time.Time
		if caught {
			next, ok := s.nextLocked()
			if ok {
				timer = s.clock.After(next.Sub(now))
			}
			s.pokeLocked() // lets tests waiting for quiet look again
			s.idle, s.idleTimer, s.idleUntil = true, ok, next
		}
		changed := s.changed
		s.mu.Unlock()

		select {
		case <-s.stop:
			return
		case <-timer:
		case <-changed:
		}
	}
}
