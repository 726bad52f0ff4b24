package sqlserver

import (
	"context"
	"slices"
	"strings"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

// InFlight implements relay.Queue (sql/in_flight.sql). Logins are folded
// here as the inbox's agent_folded column folds them (LOWER); the two agree
// on every letter a login is made of in practice (ASCII and Latin-1).
func (s *Store) InFlight(ctx context.Context, agents []string, owner string) ([]relay.Lease, error) {
	if len(agents) == 0 {
		return nil, nil
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	logins := make([]string, len(agents))
	for i, a := range agents {
		logins[i] = strings.ToLower(a)
	}
	slices.Sort(logins)
	logins = slices.Compact(logins)
	b := s.q.batch(bInFlight)
	var out []relay.Lease
	err := store.Each(len(logins), b.maxRows, func(lo, hi int) error {
		args := make([]any, 0, b.b.Fixed+hi-lo)
		args = append(args, owner)
		for _, l := range logins[lo:hi] {
			args = append(args, l)
		}
		rs, err := s.db.QueryContext(ctx, b.SQL(hi-lo), args...)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var l relay.Lease
			var attempts int32
			if err := rs.Scan(&l.ID, &attempts, &l.Agent); err != nil {
				return err
			}
			l.Attempts = int(attempts)
			out = append(out, l)
		}
		return rs.Err()
	})
	if err != nil {
		return nil, fail("commands in flight", err)
	}
	return out, nil
}
