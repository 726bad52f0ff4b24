package postgres

import (
	"context"
	"time"

	"github.com/lib/pq"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

// Claim implements relay.Queue in one statement (sql/claim.sql).
func (s *Store) Claim(ctx context.Context, req relay.ClaimRequest) ([]relay.Job, error) {
	jobs, err := s.lease(ctx, qClaim, req)
	if err != nil {
		return nil, fail("claim", err)
	}
	return jobs, nil
}

// Reclaim implements relay.Queue in one statement (sql/reclaim.sql).
func (s *Store) Reclaim(ctx context.Context, req relay.ClaimRequest) ([]relay.Job, error) {
	jobs, err := s.lease(ctx, qReclaim, req)
	if err != nil {
		return nil, fail("reclaim", err)
	}
	return jobs, nil
}

// ReclaimDead implements relay.Store in one statement (sql/reclaim_dead.sql).
func (s *Store) ReclaimDead(ctx context.Context, req relay.ReclaimDeadRequest) ([]relay.Job, error) {
	if req.Limit <= 0 {
		return nil, nil
	}
	st, err := s.stmt(ctx, qReclaimDead)
	if err != nil {
		return nil, fail("reclaim dead relays' leases", err)
	}
	rs, err := st.QueryContext(ctx, req.Owner, micro(req.LeaseUntil), req.Everyone, req.Node, req.Limit)
	if err != nil {
		return nil, fail("reclaim dead relays' leases", err)
	}
	jobs, err := store.ScanJobs(rs, req.Owner, store.Timestamp)
	if err != nil {
		return nil, fail("reclaim dead relays' leases", err)
	}
	return jobs, nil
}

func (s *Store) lease(ctx context.Context, name query, req relay.ClaimRequest) ([]relay.Job, error) {
	if req.Limit <= 0 {
		return nil, nil
	}
	st, err := s.stmt(ctx, name)
	if err != nil {
		return nil, err
	}
	rs, err := st.QueryContext(ctx, req.Owner, micro(req.Now), req.Limit, micro(req.LeaseUntil))
	if err != nil {
		return nil, err
	}
	return store.ScanJobs(rs, req.Owner, store.Timestamp)
}

// Extend implements relay.Queue.
func (s *Store) Extend(ctx context.Context, owner string, until time.Time) error {
	st, err := s.stmt(ctx, qExtend)
	if err == nil {
		_, err = st.ExecContext(ctx, owner, micro(until))
	}
	return fail("extend leases", err)
}

// Release implements relay.Queue.
func (s *Store) Release(ctx context.Context, owner string) error {
	st, err := s.stmt(ctx, qRelease)
	if err == nil {
		_, err = st.ExecContext(ctx, owner)
	}
	return fail("release leases", err)
}

// Abandon implements relay.Sources.
func (s *Store) Abandon(ctx context.Context, ids []int64, why *relay.ProtocolError) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	st, err := s.stmt(ctx, qAbandon)
	if err != nil {
		return 0, fail("abandon commands", err)
	}
	res, err := st.ExecContext(ctx, pq.Array(ids), string(relay.RefusedVerb(why)))
	if err != nil {
		return 0, fail("abandon commands", err)
	}
	n, err := res.RowsAffected()
	return int(n), fail("abandon commands", err)
}
