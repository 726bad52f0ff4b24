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
	defer rs.Close()
	var out []relay.Node
	for rs.Next() {
		var n relay.Node
		var pid int32
		var holds string
		if err := rs.Scan(&n.ID, &n.Host, &pid, &n.Version, &n.StartedAt, &n.HeartbeatAt, &holds); err != nil {
			return nil, fail("read nodes", err)
		}
		n.PID, n.Holds = int(pid), store.SplitHolds(holds)
		n.StartedAt, n.HeartbeatAt = n.StartedAt.UTC(), n.HeartbeatAt.UTC()
		out = append(out, n)
	}
	return out, fail("read nodes", rs.Err())
}
