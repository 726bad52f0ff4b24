package sqlserver

import (
	"context"
	"database/sql"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// Claim implements relay.Queue in one batch (sql/claim.sql).
func (s *Store) Claim(ctx context.Context, req relay.ClaimRequest) ([]relay.Job, error) {
	return s.lease(ctx, "claim", qClaim, req)
}

// Reclaim implements relay.Queue in one batch (sql/reclaim.sql).
func (s *Store) Reclaim(ctx context.Context, req relay.ClaimRequest) ([]relay.Job, error) {
	return s.lease(ctx, "reclaim", qReclaim, req)
}

// ReclaimDead implements relay.Queue in one batch (sql/reclaim_dead.sql).
func (s *Store) ReclaimDead(ctx context.Context, req relay.ReclaimDeadRequest) ([]relay.Job, error) {
	if req.Limit <= 0 {
		return nil, nil
	}
	everyone := int32(0)
	if req.Everyone {
		everyone = 1
	}
	return s.leaseTx(ctx, "reclaim dead relays' leases", qReclaimDead, req.Owner,
		req.Owner, ts(req.LeaseUntil), everyone, req.Node, int64(min(req.Limit, maxLockRows)))
}

func (s *Store) lease(ctx context.Context, op string, name query, req relay.ClaimRequest) ([]relay.Job, error) {
	if req.Limit <= 0 {
		return nil, nil
	}
	// TOP is bounded below lock escalation; the engine asks again for more.
	return s.leaseTx(ctx, op, name, req.Owner, req.Owner, ts(req.Now), int64(min(req.Limit, maxLockRows)), ts(req.LeaseUntil))
}

// leaseTx runs a leasing batch in a transaction of its own and reads the
// jobs it leased to owner.
func (s *Store) leaseTx(ctx context.Context, op string, name query, owner string, args ...any) ([]relay.Job, error) {
	var jobs []relay.Job
	err := s.inTx(ctx, op, func(tx *sql.Tx) error {
		rs, err := tx.QueryContext(ctx, s.q.sql(name), args...)
		if err != nil {
			return err
		}
		jobs, err = scanJobs(rs, owner)
		return err
	})
	if err != nil {
		return nil, err
	}
	return jobs, nil
}

// Extend implements relay.Queue.
func (s *Store) Extend(ctx context.Context, owner string, until time.Time) error {
	_, err := s.exec(ctx, "extend leases", qExtend, owner, ts(until))
	return err
}

// Release implements relay.Queue.
func (s *Store) Release(ctx context.Context, owner string) error {
	_, err := s.exec(ctx, "release leases", qRelease, owner)
	return err
}
