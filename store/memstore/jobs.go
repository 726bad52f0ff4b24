package memstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// BeginRun implements relay.JobRuns.
func (s *Store) BeginRun(ctx context.Context, run relay.JobRun, staleBefore time.Time) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	for i := range s.runs {
		r := &s.runs[i]
		if r.Job == run.Job && r.Status == relay.RunRunning && r.HeartbeatAt.Before(staleBefore) {
			r.Status, r.FinishedAt, r.Summary = relay.RunAbandoned, run.StartedAt, relay.AbandonedSummary
		}
	}
	for _, r := range s.runs {
		if r.Job != run.Job {
			continue
		}
		if !run.Manual && !r.Manual && r.Slot.Equal(run.Slot) {
			return 0, relay.ErrSlotTaken
		}
	}
	if run.Status == relay.RunRunning {
		for _, r := range s.runs {
			if r.Job == run.Job && r.Status == relay.RunRunning {
				return 0, relay.ErrJobRunning
			}
		}
	}
	s.ids.run++
	run.ID = s.ids.run
	s.runs = append(s.runs, run)
	return run.ID, nil
}

// UpdateRun implements relay.JobRuns.
func (s *Store) UpdateRun(ctx context.Context, id int64, status string, at time.Time, summary string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return err
	}
	for i := range s.runs {
		r := &s.runs[i]
		if r.ID != id || r.Status != relay.RunRunning {
			continue
		}
		r.HeartbeatAt = at
		if status != relay.RunRunning {
			r.Status, r.FinishedAt, r.Summary = status, at, summary
		}
	}
	return nil
}

// JobRuns implements relay.JobRuns.
func (s *Store) JobRuns(ctx context.Context, job string, limit int) ([]relay.JobRun, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	var out []relay.JobRun
	for _, r := range s.runs {
		if job == "" || r.Job == job {
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b relay.JobRun) int {
		if c := b.Slot.Compare(a.Slot); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// LastSlot implements relay.JobRuns.
func (s *Store) LastSlot(ctx context.Context, job string) (time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return time.Time{}, err
	}
	var last time.Time
	for _, r := range s.runs {
		if r.Job == job && !r.Manual && r.Slot.After(last) {
			last = r.Slot
		}
	}
	return last, nil
}

// Prune implements relay.Housekeeping.
func (s *Store) Prune(ctx context.Context, table string, before time.Time, limit int) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	n := 0
	switch table {
	case relay.PruneJournal:
		// from the first id, stopping at the first young row (the SQL
		// stores' bounded batch)
		for n < limit && n < len(s.journal) && s.journal[n].At.Before(before) {
			n++
		}
		s.journal = slices.Delete(s.journal, 0, n)
	case relay.PruneDead:
		s.dead = slices.DeleteFunc(s.dead, func(d relay.DeadLetter) bool {
			if n < limit && d.DiedAt.Before(before) {
				n++
				return true
			}
			return false
		})
	case relay.PruneJobRuns:
		s.runs = slices.DeleteFunc(s.runs, func(r relay.JobRun) bool {
			if n < limit && r.Status != relay.RunRunning && r.StartedAt.Before(before) {
				n++
				return true
			}
			return false
		})
	default:
		return 0, fmt.Errorf("prune: no table %q", table)
	}
	return n, nil
}

// PruneNodes implements relay.Housekeeping.
func (s *Store) PruneNodes(ctx context.Context, before time.Time) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	var gone []string
	for id, n := range s.nodes {
		if n.HeartbeatAt.Before(before) {
			gone = append(gone, id)
			delete(s.nodes, id)
		}
	}
	slices.Sort(gone)
	return gone, nil
}

// JournalBetween implements relay.Housekeeping.
func (s *Store) JournalBetween(ctx context.Context, from, to time.Time, afterID int64, limit int) ([]relay.JournalEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	var out []relay.JournalEntry
	for _, j := range s.journal {
		if j.ID > afterID && !j.At.Before(from) && j.At.Before(to) && len(out) < limit {
			out = append(out, j)
		}
	}
	return out, nil
}
