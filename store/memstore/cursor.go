package memstore

import (
	"context"
	"slices"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// Cursor implements relay.JournalReader.
func (s *Store) Cursor(ctx context.Context, name string) (relay.Cursor, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return relay.Cursor{}, false, err
	}
	c, ok := s.cursors[name]
	return c, ok, nil
}

// AdvanceCursors implements relay.JournalReader: positions only move forward.
func (s *Store) AdvanceCursors(ctx context.Context, cursors []relay.Cursor, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return err
	}
	if s.cursors == nil {
		s.cursors = map[string]relay.Cursor{}
	}
	for _, c := range cursors {
		if old, ok := s.cursors[c.Name]; ok && c.Position < old.Position {
			continue
		}
		s.cursors[c.Name] = relay.Cursor{Name: c.Name, Position: c.Position, UpdatedAt: now}
	}
	return nil
}

// JournalSince implements relay.JournalReader.
func (s *Store) JournalSince(ctx context.Context, after int64, kinds []string, limit int) ([]relay.JournalEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 1000
	}
	var out []relay.JournalEntry
	for _, e := range s.journal {
		if len(out) >= limit {
			break
		}
		if e.ID > after && (len(kinds) == 0 || slices.Contains(kinds, e.Kind)) {
			out = append(out, e)
		}
	}
	return out, nil
}
