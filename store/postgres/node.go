package postgres

import (
	"context"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

// Heartbeat implements relay.Nodes (sql/node_heartbeat.sql).
func (s *Store) Heartbeat(ctx context.Context, n relay.Node, now time.Time) error {
	st, err := s.stmt(ctx, qNodeBeat)
	if err != nil {
		return fail("node heartbeat", err)
	}
	_, err = st.ExecContext(ctx, n.ID, n.Host, n.PID, n.Version, micro(n.StartedAt), micro(now), store.JoinHolds(n.Holds))
	return fail("node heartbeat", err)
}

// Leave implements relay.Nodes.
func (s *Store) Leave(ctx context.Context, id string) error {
	st, err := s.stmt(ctx, qNodeLeave)
	if err != nil {
		return fail("node leave", err)
	}
	_, err = st.ExecContext(ctx, id)
	return fail("node leave", err)
}

// Nodes implements relay.Nodes.
func (s *Store) Nodes(ctx context.Context) ([]relay.Node, error) {
	st, err := s.stmt(ctx, qNodes)
	if err != nil {
		return nil, fail("read nodes", err)
	}
	rs, err := st.QueryContext(ctx)
	if err != nil {
		return nil, fail("read nodes", err)
	}
	out, err := store.ScanNodes(rs, store.Timestamp)
	return out, fail("read nodes", err)
}
