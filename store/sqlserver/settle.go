package sqlserver

import (
	"context"
	"database/sql"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

// Settle implements relay.Queue in one transaction: the fenced deletes and
// updates of the inbox rows first, the next command of each finished
// agent leased, then (under the output applock, held to commit) the
// journal and T_TTO, and the dead letters. No holder of the output applock
// waits for an inbox row, so rows first, then the applock, cannot deadlock.
func (s *Store) Settle(ctx context.Context, outcomes []relay.Outcome, now time.Time, claim relay.ClaimRequest) (int, []relay.Job, error) {
	if len(outcomes) == 0 {
		return 0, nil, nil
	}
	remove, retry := store.SplitOutcomes(outcomes)
	var applied int
	var jobs []relay.Job
	err := s.withRefusals(func(refused refusals) error {
		return s.settleTx(ctx, outcomes, remove, retry, now, claim, refused, &applied, &jobs)
	})
	if err != nil {
		return 0, nil, err
	}
	return applied, jobs, nil
}

// settleTx is one run of Settle's transaction.
func (s *Store) settleTx(ctx context.Context, outcomes []relay.Outcome, remove, retry []int, now time.Time,
	claim relay.ClaimRequest, refused refusals, applied *int, jobs *[]relay.Job) error {
	return s.inTx(ctx, "settle", func(tx *sql.Tx) error {
		*applied, *jobs = 0, nil
		removed, err := s.removeFenced(ctx, tx, outcomes, remove)
		if err != nil {
			return err
		}
		retried, err := s.retryFenced(ctx, tx, outcomes, retry)
		if err != nil {
			return err
		}
		if claim.Owner != "" && claim.Limit > 0 {
			if *jobs, err = s.leaseNext(ctx, tx, removed, now, claim); err != nil {
				return err
			}
		}
		w := store.PlanSettle(outcomes, remove, removed, now)
		// w.Outbox are the journal's replies that go to T_TTO (store.ToOutbox)
		if err := s.writeOutput(ctx, tx, w.Journal, refused); err != nil {
			return err
		}
		if err := s.insertDead(ctx, tx, w.Dead); err != nil {
			return err
		}
		*applied = w.Applied + retried
		return nil
	})
}

// removeFenced deletes the inbox rows of Done and Dead outcomes still held
// as the outcome says, and returns them as the job each outcome carries
// (the fence matched its very lease, and a row's other columns never change).
func (s *Store) removeFenced(ctx context.Context, tx *sql.Tx, outcomes []relay.Outcome, idx []int) ([]store.Removed, error) {
	b := s.q.batch(bRemove)
	var removed []store.Removed
	err := store.Each(len(idx), b.maxRows, func(lo, hi int) error {
		args := make([]any, 0, (hi-lo)*b.b.Params)
		jobs := make(store.Fenced, hi-lo)
		for _, i := range idx[lo:hi] {
			j := outcomes[i].Job
			args = append(args, j.Agent, j.ID, j.Owner, i32(j.Attempts))
			jobs.Add(j)
		}
		return store.EachRow(ctx, tx, b.SQL(hi-lo), args, func(rs *sql.Rows) error {
			r, err := jobs.Removed(rs)
			r.EnqueuedAt = micro(r.EnqueuedAt) // as datetime2(6) holds it
			removed = append(removed, r)
			return err
		})
	})
	return removed, err
}

// retryFenced puts Retry outcomes back to ready and counts those applied.
func (s *Store) retryFenced(ctx context.Context, tx *sql.Tx, outcomes []relay.Outcome, idx []int) (int, error) {
	b := s.q.batch(bRetry)
	n := 0
	err := store.Each(len(idx), b.maxRows, func(lo, hi int) error {
		args := make([]any, 0, (hi-lo)*b.b.Params)
		for _, i := range idx[lo:hi] {
			o := outcomes[i]
			args = append(args, o.Job.Agent, o.Job.ID, o.Job.Owner, i32(o.Job.Attempts), nullTS(o.NotBefore), nullNV(o.Reason))
		}
		var got int64
		if err := tx.QueryRowContext(ctx, b.SQL(hi-lo), args...).Scan(&got); err != nil {
			return err
		}
		n += int(got)
		return nil
	})
	return n, err
}

// leaseNext leases up to claim.Limit of the commands the removed ones leave
// at the head of their agents' queues, ready at claim.Now (now when unset).
func (s *Store) leaseNext(ctx context.Context, tx *sql.Tx, removed []store.Removed, now time.Time, claim relay.ClaimRequest) ([]relay.Job, error) {
	if len(removed) == 0 {
		return nil, nil
	}
	at := claim.Now
	if at.IsZero() {
		at = now
	}
	until := claim.LeaseUntil
	if until.IsZero() {
		until = now
	}
	b := s.q.batch(bLeaseNext)
	var jobs []relay.Job
	err := store.Each(len(removed), b.maxRows, func(lo, hi int) error {
		left := claim.Limit - len(jobs)
		if left <= 0 {
			return nil
		}
		args := make([]any, 0, b.b.Fixed+(hi-lo)*b.b.Params)
		args = append(args, claim.Owner, ts(until), ts(at), i32(min(left, maxLockRows)))
		for _, r := range removed[lo:hi] {
			args = append(args, r.Agent, r.ID)
		}
		rs, err := tx.QueryContext(ctx, b.SQL(hi-lo), args...)
		if err != nil {
			return err
		}
		more, err := scanJobs(rs, claim.Owner)
		jobs = append(jobs, more...)
		return err
	})
	store.SortJobs(jobs)
	return jobs, err
}

// Publish implements relay.Queue: switch events into T_TTO and the journal
// in one transaction, under the output applock.
func (s *Store) Publish(ctx context.Context, events []relay.Frame, now time.Time) error {
	if len(events) == 0 {
		return nil
	}
	journal, _ := store.EventRows(events, now) // every event goes to T_TTO too
	return s.withRefusals(func(refused refusals) error {
		return s.inTx(ctx, "publish", func(tx *sql.Tx) error {
			return s.writeOutput(ctx, tx, journal, refused)
		})
	})
}
