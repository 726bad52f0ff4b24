package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

// Claim leases the heads of the agents' queues in one statement: SQLite runs
// one writer at a time, so no two claimers can see the same head free.
func (s *Store) Claim(ctx context.Context, req relay.ClaimRequest) ([]relay.Job, error) {
	if req.Limit <= 0 {
		return nil, nil
	}
	jobs, err := s.lease(ctx, s.q.claim, req.Owner, req.LeaseUntil, micros(req.Now), req.Limit)
	if err != nil {
		return nil, fail(ctx, "claim", err)
	}
	return jobs, nil
}

// Reclaim takes over commands whose lease expired before req.Now.
func (s *Store) Reclaim(ctx context.Context, req relay.ClaimRequest) ([]relay.Job, error) {
	if req.Limit <= 0 {
		return nil, nil
	}
	jobs, err := s.lease(ctx, s.q.reclaim, req.Owner, req.LeaseUntil, micros(req.Now), req.Limit)
	if err != nil {
		return nil, fail(ctx, "reclaim", err)
	}
	return jobs, nil
}

// ReclaimDead takes over the commands of relays known to be dead.
func (s *Store) ReclaimDead(ctx context.Context, req relay.ReclaimDeadRequest) ([]relay.Job, error) {
	if req.Limit <= 0 {
		return nil, nil
	}
	rs, err := s.db.QueryContext(ctx, s.q.reclaimDead, req.Owner, micros(req.LeaseUntil), req.Everyone, req.Node, req.Limit)
	if err == nil {
		var jobs []relay.Job
		if jobs, err = store.ScanJobs(rs, req.Owner, store.UnixMicros); err == nil {
			return jobs, nil
		}
	}
	return nil, fail(ctx, "reclaim dead relays' leases", err)
}

// lease runs a claim statement and returns the leased jobs in id order.
func (s *Store) lease(ctx context.Context, query, owner string, until time.Time, now int64, limit int) ([]relay.Job, error) {
	defer s.writes.begin()()
	rs, err := s.db.QueryContext(ctx, query, owner, micros(until), now, limit)
	if err != nil {
		return nil, err
	}
	return store.ScanJobs(rs, owner, store.UnixMicros)
}

// Extend pushes back the lease of every command owner holds.
func (s *Store) Extend(ctx context.Context, owner string, until time.Time) error {
	if _, err := s.db.ExecContext(ctx, s.q.extend, micros(until), owner); err != nil {
		return fail(ctx, "extend leases", err)
	}
	return nil
}

// Release hands back every command owner holds, as if never claimed.
func (s *Store) Release(ctx context.Context, owner string) error {
	if _, err := s.db.ExecContext(ctx, s.q.release, owner); err != nil {
		return fail(ctx, "release leases", err)
	}
	return nil
}

// Abandon marks the commands of a requester that is gone, when still
// waiting: they are answered and dead-lettered at the head of their queue.
func (s *Store) Abandon(ctx context.Context, ids []int64, why *relay.ProtocolError) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return 0, fmt.Errorf("abandon commands: %w", err)
	}
	res, err := s.db.ExecContext(ctx, s.q.abandon, string(relay.RefusedVerb(why)), string(list))
	if err != nil {
		return 0, fail(ctx, "abandon commands", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fail(ctx, "abandon commands", err)
	}
	return int(n), nil
}
