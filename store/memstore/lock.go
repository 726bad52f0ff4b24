package memstore

import (
	"context"
	"strings"
	"sync"

	"github.com/ctirelay/ctirelay/relay"
)

// TryLock implements relay.Store (Locker): the relays sharing this store are in one
// process, so a name is held once per store. A lock is lost when the store
// closes (its "connection" ends).
func (s *Store) TryLock(ctx context.Context, name string) (bool, <-chan struct{}, func(), error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return false, nil, nil, err
	}
	if s.locks == nil {
		s.locks = map[string]chan struct{}{}
	}
	if _, taken := s.locks[name]; taken {
		return false, nil, nil, nil
	}
	lost := make(chan struct{})
	s.locks[name] = lost
	var once sync.Once
	release := func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.locks[name] == lost {
				delete(s.locks, name)
			}
		})
	}
	return true, lost, release, nil
}

// DropLocks makes every lock lost, as when the database connections holding
// them die.
func (s *Store) DropLocks() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, lost := range s.locks {
		close(lost)
		delete(s.locks, name)
	}
}

// InFlight implements relay.Queue.
func (s *Store) InFlight(ctx context.Context, agents []string, owner string) ([]relay.Lease, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, a := range agents {
		want[strings.ToLower(a)] = true
	}
	var out []relay.Lease
	for _, r := range s.inbox {
		if r.state == "running" && r.Owner != owner && want[strings.ToLower(r.Agent)] {
			out = append(out, relay.Lease{ID: r.ID, Attempts: r.Attempts, Agent: r.Agent})
		}
	}
	return out, nil
}
