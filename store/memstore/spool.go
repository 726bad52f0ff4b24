package memstore

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// Bury implements relay.Spool.
func (s *Store) Bury(ctx context.Context, letters []relay.DeadLetter, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return err
	}
	for _, d := range letters {
		s.ids.dead++
		d.ID, d.InboxID, d.Attempts, d.DiedAt = s.ids.dead, 0, 0, now
		if d.EnqueuedAt.IsZero() {
			d.EnqueuedAt = now
		}
		s.dead = append(s.dead, d)
	}
	return nil
}

// CursorsWithPrefix implements relay.Spool.
func (s *Store) CursorsWithPrefix(ctx context.Context, prefix string) ([]relay.Cursor, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	var out []relay.Cursor
	for name, c := range s.cursors {
		if strings.HasPrefix(name, prefix) {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b relay.Cursor) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}
