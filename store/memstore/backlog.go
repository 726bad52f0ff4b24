package memstore

import (
	"context"

	"github.com/ctirelay/ctirelay/relay"
)

// Backlog implements relay.Operators as the SQL stores do: T_TTI's ends,
// and the unread-th newest output of the journal.
func (s *Store) Backlog(ctx context.Context, unread int64) (relay.Backlog, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return relay.Backlog{}, err
	}
	var b relay.Backlog
	for i, r := range s.tti {
		if i == 0 || r.ID < b.TTIFirst {
			b.TTIFirst = r.ID
		}
		b.TTILast = max(b.TTILast, r.ID)
	}
	if unread <= 0 {
		return b, nil
	}
	n := min(unread, relay.BacklogScan)
	b.TTOAtLeast = unread > relay.BacklogScan
	var oldest *relay.JournalEntry
	for i := len(s.journal) - 1; i >= 0; i-- {
		e := &s.journal[i]
		if !relay.WentToTTO(*e) {
			continue
		}
		oldest = e
		if n--; n == 0 {
			b.TTOOldest = e.At
			return b, nil
		}
	}
	// Fewer outputs journaled than unread rows: the rest are older than
	// the oldest one kept.
	if oldest != nil {
		b.TTOOldest, b.TTOAtLeast = oldest.At, true
	}
	return b, nil
}
