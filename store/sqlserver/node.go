package sqlserver

import (
	"context"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

// Heartbeat implements relay.Nodes (sql/node_heartbeat.sql).
func (s *Store) Heartbeat(ctx context.Context, n relay.Node, now time.Time) error {
	_, err := s.exec(ctx, "node heartbeat", qNodeBeat, n.ID, n.Host, i32(n.PID), n.Version, ts(n.StartedAt), ts(now), store.JoinHolds(n.Holds))
	return err
}

// Leave implements relay.Nodes.
func (s *Store) Leave(ctx context.Context, id string) error {
	_, err := s.exec(ctx, "node leave", qNodeLeave, id)
	return err
}

// Nodes implements relay.Nodes.
func (s *Store) Nodes(ctx context.Context) ([]relay.Node, error) {
	rs, err := s.query(ctx, qNodes)
	if err != nil {
		return nil, fail("read nodes", err)
	}
	out, err := store.ScanNodes(rs, store.Timestamp)
	return out, fail("read nodes", err)
}
