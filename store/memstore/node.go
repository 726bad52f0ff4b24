package memstore

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// Heartbeat implements relay.Nodes.
func (s *Store) Heartbeat(ctx context.Context, n relay.Node, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return err
	}
	if s.nodes == nil {
		s.nodes = map[string]relay.Node{}
	}
	n.HeartbeatAt = now
	if len(n.Holds) == 0 {
		n.Holds = nil
	} else {
		n.Holds = slices.Clone(n.Holds)
	}
	s.nodes[n.ID] = n
	return nil
}

// Leave implements relay.Nodes.
func (s *Store) Leave(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return err
	}
	delete(s.nodes, id)
	return nil
}

// Nodes implements relay.Nodes.
func (s *Store) Nodes(ctx context.Context) ([]relay.Node, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	return slices.SortedFunc(maps.Values(s.nodes), func(a, b relay.Node) int { return strings.Compare(a.ID, b.ID) }), nil
}
