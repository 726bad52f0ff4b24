package memstore

import (
	"context"
	"slices"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// Journal implements relay.Operators.
func (s *Store) Journal(ctx context.Context, afterID int64, limit int) ([]relay.JournalEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	var out []relay.JournalEntry
	for _, e := range s.journal {
		if e.ID > afterID && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

// JournalHead implements relay.JournalReader.
func (s *Store) JournalHead(ctx context.Context) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ids.journal, s.check(ctx)
}

// DeadLetters implements relay.Operators.
func (s *Store) DeadLetters(ctx context.Context, afterID int64, limit int) ([]relay.DeadLetter, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	var out []relay.DeadLetter
	for _, d := range s.dead {
		if d.ID > afterID && len(out) < limit {
			out = append(out, d)
		}
	}
	return out, nil
}

// RetryDead implements relay.Operators.
func (s *Store) RetryDead(ctx context.Context, ids []int64, now time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	n := 0
	s.dead = slices.DeleteFunc(s.dead, func(d relay.DeadLetter) bool {
		if !slices.Contains(ids, d.ID) {
			return false
		}
		if d.Verb == "" { // refused at intake: never a command
			return false
		}
		s.ids.inbox++
		s.inbox = append(s.inbox, &inboxRow{Job: relay.Job{ID: s.ids.inbox, Source: d.Source, Ref: d.Ref, Agent: d.Agent, Verb: d.Verb, Frame: d.Frame, EnqueuedAt: now}, state: "ready"})
		n++
		return true
	})
	return n, nil
}

// DropDead implements relay.Operators.
func (s *Store) DropDead(ctx context.Context, ids []int64) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	before := len(s.dead)
	s.dead = slices.DeleteFunc(s.dead, func(d relay.DeadLetter) bool { return slices.Contains(ids, d.ID) })
	return before - len(s.dead), nil
}

// Status implements relay.Operators.
func (s *Store) Status(ctx context.Context, now time.Time) (relay.QueueStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return relay.QueueStatus{}, err
	}
	st := relay.QueueStatus{Pending: int64(len(s.tti)), Inbox: int64(len(s.inbox)), Dead: int64(len(s.dead)), Outbox: int64(len(s.tto))}
	for _, r := range s.inbox {
		st.OldestAge = max(st.OldestAge, now.Sub(r.EnqueuedAt))
		switch {
		case r.state == "running":
			st.InFlight++
		case r.Attempts > 0:
			st.Retrying++
			st.Ready++
		default:
			st.Ready++
		}
	}
	for _, e := range s.journal {
		if e.Kind == relay.KindReply && now.Sub(e.At) <= time.Minute {
			st.Done1m++
		}
	}
	return st, nil
}

// Agents implements relay.Operators.
func (s *Store) Agents(ctx context.Context, now time.Time) ([]relay.AgentStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	byAgent := map[string]*relay.AgentStatus{}
	get := func(a string) *relay.AgentStatus {
		if byAgent[a] == nil {
			byAgent[a] = &relay.AgentStatus{Agent: a}
		}
		return byAgent[a]
	}
	// like relay_agent_status: pending counts the waiting commands, and an
	// agent without journal activity in the last day shows its oldest
	// command's time
	oldest := map[string]time.Time{}
	for _, r := range s.inbox {
		a := get(r.Agent)
		if r.state == "running" {
			a.InFlight++
		} else {
			a.Pending++
		}
		if o, ok := oldest[r.Agent]; !ok || r.EnqueuedAt.Before(o) {
			oldest[r.Agent] = r.EnqueuedAt
		}
	}
	for _, e := range s.journal {
		if e.Agent != "" && now.Sub(e.At) <= 24*time.Hour {
			a := get(e.Agent)
			if e.At.After(a.LastActivity) {
				a.LastActivity = e.At
			}
		}
	}
	for agent, o := range oldest {
		if a := byAgent[agent]; a.LastActivity.IsZero() {
			a.LastActivity = o
		}
	}
	out := make([]relay.AgentStatus, 0, len(byAgent))
	for _, a := range byAgent {
		out = append(out, *a)
	}
	slices.SortFunc(out, func(a, b relay.AgentStatus) int {
		if a.Agent < b.Agent {
			return -1
		}
		if a.Agent > b.Agent {
			return 1
		}
		return 0
	})
	return out, nil
}

// ERPColumns implements relay.Operators: the tables as the relay creates
// them, text without a bound.
func (s *Store) ERPColumns(ctx context.Context) ([]relay.Column, error) {
	return []relay.Column{
		{Table: "T_TTI", Name: "DS_TTI", Type: "text", Encoding: "UTF-8"},
		{Table: "T_TTO", Name: "DS_TTO", Type: "text", Encoding: "UTF-8"},
	}, nil
}

// JournalWakeups implements relay.JournalReader: no notifications across
// processes, so feeds poll.
func (s *Store) JournalWakeups() <-chan struct{} { return nil }
