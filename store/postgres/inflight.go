package postgres

import (
	"context"

	"github.com/lib/pq"

	"github.com/ctirelay/ctirelay/relay"
)

const qInFlight query = "in_flight"

// InFlight implements relay.Queue.
func (s *Store) InFlight(ctx context.Context, agents []string, owner string) ([]relay.Lease, error) {
	st, err := s.stmt(ctx, qInFlight)
	if err != nil {
		return nil, fail("commands in flight", err)
	}
	rs, err := st.QueryContext(ctx, pq.Array(agents), owner)
	if err != nil {
		return nil, fail("commands in flight", err)
	}
	defer rs.Close()
	var out []relay.Lease
	for rs.Next() {
		var l relay.Lease
		if err := rs.Scan(&l.ID, &l.Attempts, &l.Agent); err != nil {
			return nil, fail("commands in flight", err)
		}
		out = append(out, l)
	}
	return out, fail("commands in flight", rs.Err())
}
