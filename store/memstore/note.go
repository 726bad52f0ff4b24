package memstore

import (
	"context"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// Note implements relay.Notebook.
func (s *Store) Note(ctx context.Context, notes []relay.Note, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return err
	}
	for _, n := range notes {
		s.journalAdd(relay.JournalEntry{At: now, Direction: relay.DirOut, Kind: relay.KindNote, Agent: n.Agent,
			Frame: n.Text, Origin: n.Origin, Ref: n.What})
	}
	return nil
}
