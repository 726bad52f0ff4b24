package postgres

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/ctirelay/ctirelay/relay"
)

// Claim implements relay.Store in one statement (sql/claim.sql).
func (s *Store) Claim(ctx context.Context, req relay.ClaimRequest) ([]relay.Job, error) {
	jobs, err := s.lease(ctx, qClaim, req)
	if err != nil {
		return nil, fail("claim", err)
	}
	return jobs, nil
}

// Reclaim implements relay.Store in one statement (sql/reclaim.sql).
func (s *Store) Reclaim(ctx context.Context, req relay.ClaimRequest) ([]relay.Job, error) {
	jobs, err := s.lease(ctx, qReclaim, req)
	if err != nil {
		return nil, fail("reclaim", err)
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
	return scanJobs(ctx, st, req.Owner, micro(req.Now), req.Limit, micro(req.LeaseUntil))
}

func scanJobs(ctx context.Context, st *sqlx.Stmt, args ...any) ([]relay.Job, error) {
	rs, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	owner := args[0].(string)
	var jobs []relay.Job
	for rs.Next() {
		j := relay.Job{Owner: owner}
		var verb string
		if err := rs.Scan(&j.ID, &j.Source, &j.Ref, &j.Agent, &verb, &j.Frame, &j.Attempts, &j.EnqueuedAt); err != nil {
			return nil, err
		}
		j.Verb = relay.Verb(verb)
		j.EnqueuedAt = j.EnqueuedAt.UTC()
		jobs = append(jobs, j)
	}
	if err := rs.Err(); err != nil {
		return nil, err
	}
	// UPDATE ... RETURNING promises no order; callers get id order.
	sortBy(jobs, func(j relay.Job) int64 { return j.ID })
	return jobs, nil
}

// Extend implements relay.Store.
func (s *Store) Extend(ctx context.Context, owner string, until time.Time) error {
	st, err := s.stmt(ctx, qExtend)
	if err == nil {
		_, err = st.ExecContext(ctx, owner, micro(until))
	}
	return fail("extend leases", err)
}

// Release implements relay.Store.
func (s *Store) Release(ctx context.Context, owner string) error {
	st, err := s.stmt(ctx, qRelease)
	if err == nil {
		_, err = st.ExecContext(ctx, owner)
	}
	return fail("release leases", err)
}
