package memstore

import (
	"context"
	"slices"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

var _ relay.SettleClaimer = (*Store)(nil)

// SettleClaim implements relay.SettleClaimer: Settle, then a lease on the
// next command of each agent whose command finished, when it is ready.
func (s *Store) SettleClaim(ctx context.Context, outcomes []relay.Outcome, now time.Time, claim relay.ClaimRequest) (int, []relay.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return 0, nil, err
	}
	applied, finished := s.settleLocked(outcomes, now)
	var jobs []relay.Job
	for _, r := range s.inbox { // id order, so the limit keeps the oldest
		if len(jobs) >= claim.Limit {
			break
		}
		i := slices.Index(finished, r.Agent)
		if i < 0 {
			continue
		}
		// the agent's first row left is its next command
		finished = slices.Delete(finished, i, i+1)
		if r.state != "ready" || r.notBefore.After(claim.Now) {
			continue
		}
		r.state, r.Owner, r.expires = "running", claim.Owner, claim.LeaseUntil
		r.Attempts++
		jobs = append(jobs, r.Job)
	}
	return applied, jobs, nil
}
