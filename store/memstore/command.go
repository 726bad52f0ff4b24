package memstore

import (
	"context"

	"github.com/ctirelay/ctirelay/relay"
)

// Command implements relay.Operators.
func (s *Store) Command(ctx context.Context, id int64) (relay.CommandRecord, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return relay.CommandRecord{}, false, err
	}
	rec := relay.CommandRecord{ID: id}
	found := false
	for _, e := range s.journal {
		if e.InboxID != id {
			continue
		}
		switch e.Kind {
		case relay.KindCommand, relay.KindRejected:
			rec.State, rec.Source, rec.Ref, rec.Agent, rec.Frame, rec.EnqueuedAt = relay.CommandDone, e.Origin, e.Ref, e.Agent, e.Frame, e.At
			found = true
		case relay.KindReply:
			rec.Replies = append(rec.Replies, e)
		}
	}
	for _, r := range s.inbox {
		if r.ID != id {
			continue
		}
		rec.State = relay.CommandQueued
		switch {
		case r.state == "running":
			rec.State = relay.CommandRunning
		case r.Attempts > 0:
			rec.State = relay.CommandRetrying
		}
		rec.Attempts, rec.Source, rec.Ref, rec.Agent, rec.Frame, rec.EnqueuedAt, rec.LastError =
			r.Attempts, r.Source, r.Ref, r.Agent, r.Frame, r.EnqueuedAt, r.lastError
		return rec, true, nil
	}
	for _, d := range s.dead {
		if d.InboxID == id {
			rec.State, rec.Attempts, rec.Source, rec.Ref, rec.Agent, rec.Frame, rec.EnqueuedAt, rec.DeadReason =
				relay.CommandDead, d.Attempts, d.Source, d.Ref, d.Agent, d.Frame, d.EnqueuedAt, d.Reason
			return rec, true, nil
		}
	}
	if !found {
		return relay.CommandRecord{}, false, nil
	}
	return rec, true, nil
}
