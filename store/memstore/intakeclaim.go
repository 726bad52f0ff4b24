package memstore

import (
	"context"

	"github.com/ctirelay/ctirelay/relay"
)

var _ relay.IntakeClaimer = (*Store)(nil)

// IntakeClaim implements relay.IntakeClaimer: Intake, then a lease on each
// command that arrived at the head of its agent's queue (the agent had
// nothing in the inbox), oldest first, up to claim.Limit.
func (s *Store) IntakeClaim(ctx context.Context, req relay.IntakeRequest, claim relay.ClaimRequest) (int, []relay.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return 0, nil, err
	}
	busy := map[string]bool{}
	for _, r := range s.inbox {
		busy[r.Agent] = true
	}
	first := s.ids.inbox // admitted rows get larger ids
	n, full := s.intakeLocked(req)
	var jobs []relay.Job
	for _, r := range s.inbox {
		if len(jobs) >= claim.Limit {
			break
		}
		if r.ID <= first || busy[r.Agent] {
			continue
		}
		busy[r.Agent] = true
		r.state, r.Owner, r.expires = "running", claim.Owner, claim.LeaseUntil
		r.Attempts++
		jobs = append(jobs, r.Job)
	}
	return n, jobs, full
}
