package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

// JournalHead implements relay.JournalReader: the last journal id, so a
// follower can start from now.
func (s *Store) JournalHead(ctx context.Context) (int64, error) {
	var id int64
	if err := s.db.QueryRowContext(ctx, s.q.journalHead).Scan(&id); err != nil {
		return 0, fail(ctx, "journal head", err)
	}
	return id, nil
}

// JournalSince implements relay.JournalReader. The kinds travel as one
// JSON array so the statement stays the same whatever their number.
func (s *Store) JournalSince(ctx context.Context, after int64, kinds []string, limit int) ([]relay.JournalEntry, error) {
	kinds = slices.Compact(slices.Sorted(slices.Values(kinds)))
	if len(kinds) == 0 {
		return s.Journal(ctx, after, limit)
	}
	list, err := json.Marshal(kinds)
	if err != nil {
		return nil, fmt.Errorf("read journal: %w", err)
	}
	rs, err := s.db.QueryContext(ctx, s.q.journalSince, after, string(list), page(limit))
	if err != nil {
		return nil, fail(ctx, "read journal", err)
	}
	out, err := store.ScanJournal(rs, store.UnixMicros)
	if err != nil {
		return nil, fail(ctx, "read journal", err)
	}
	return out, nil
}

// JournalWakeups implements relay.JournalReader: the wake-up watcher's
// journal channel fires after any commit of another connection (another
// relay process writing replies, a `ctirelay send`); nil if it could not
// start. Feeds still poll as a fallback.
func (s *Store) JournalWakeups() <-chan struct{} {
	w := s.watcher()
	if w == nil {
		return nil
	}
	return w.journal
}
