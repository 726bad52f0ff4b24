package memstore

import (
	"context"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// PublishOnce implements relay.Store: Publish, recorded under key in the
// cursors, and nothing when key is already there.
func (s *Store) PublishOnce(ctx context.Context, key string, events []relay.Frame, now time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return false, err
	}
	if _, done := s.cursors[key]; done {
		return false, nil
	}
	if s.cursors == nil {
		s.cursors = map[string]relay.Cursor{}
	}
	s.cursors[key] = relay.Cursor{Name: key, Position: int64(len(events)), UpdatedAt: now}
	for _, f := range events {
		s.ttoAdd(f.String())
		s.journalAdd(relay.JournalEntry{At: now, Direction: relay.DirOut, Kind: relay.KindEvent, Agent: f.Login(), Frame: f.String(), Origin: relay.OriginSwitch})
	}
	return true, nil
}
