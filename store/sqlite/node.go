package sqlite

import (
	"context"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

// Heartbeat implements relay.Nodes.
func (s *Store) Heartbeat(ctx context.Context, n relay.Node, now time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q.nodeHeartbeat, n.ID, n.Host, n.PID, n.Version, micros(n.StartedAt), micros(now), store.JoinHolds(n.Holds))
	if err != nil {
		return fail(ctx, "node heartbeat", err)
	}
	return nil
}

// Leave implements relay.Nodes.
func (s *Store) Leave(ctx context.Context, id string) error {
	if _, err := s.db.ExecContext(ctx, s.q.nodeLeave, id); err != nil {
		return fail(ctx, "node leave", err)
	}
	return nil
}

// Nodes implements relay.Nodes.
func (s *Store) Nodes(ctx context.Context) ([]relay.Node, error) {
	rs, err := s.db.QueryContext(ctx, s.q.nodes)
	if err != nil {
		return nil, fail(ctx, "read nodes", err)
	}
	out, err := store.ScanNodes(rs, store.UnixMicros)
	if err != nil {
		return nil, fail(ctx, "read nodes", err)
	}
	return out, nil
}
