package sqlite

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

var (
	_ relay.JournalHeader   = (*Store)(nil)
	_ relay.JournalFollower = (*Store)(nil)
)

const sqlJournalHead = `SELECT coalesce(max(id), 0) FROM {{journal}}`

// JournalHead implements relay.JournalHeader: the last journal id, so a
// follower can start from now.
func (s *Store) JournalHead(ctx context.Context) (int64, error) {
	var id int64
	if err := s.db.QueryRowContext(ctx, store.Render(sqlJournalHead, s.names)).Scan(&id); err != nil {
		return 0, fail(ctx, "journal head", err)
	}
	return id, nil
}

// JournalSince implements relay.JournalFollower. The kinds are few (four
// exist), so the IN list is built per call.
func (s *Store) JournalSince(ctx context.Context, after int64, kinds []string, limit int) ([]relay.JournalEntry, error) {
	kinds = slices.Compact(slices.Sorted(slices.Values(kinds)))
	if len(kinds) == 0 {
		return s.Journal(ctx, after, limit)
	}
	query := store.Render(`SELECT id, at, direction, kind, agent, frame, origin, coalesce(source_ref, ''), coalesce(inbox_id, 0),
       coalesce(outcome, ''), coalesce(latency_us, 0)
  FROM {{journal}} WHERE id > ? AND kind IN (?`+strings.Repeat(", ?", len(kinds)-1)+`) ORDER BY id LIMIT ?`, s.names)
	args := make([]any, 0, len(kinds)+2)
	args = append(args, after)
	for _, k := range kinds {
		args = append(args, k)
	}
	args = append(args, page(limit))
	rs, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fail(ctx, "read journal", err)
	}
	defer rs.Close()
	var out []relay.JournalEntry
	for rs.Next() {
		var e relay.JournalEntry
		var at, latency int64
		if err := rs.Scan(&e.ID, &at, &e.Direction, &e.Kind, &e.Agent, &e.Frame, &e.Origin, &e.Ref, &e.InboxID, &e.Outcome, &latency); err != nil {
			return nil, fail(ctx, "read journal", err)
		}
		e.At, e.Latency = fromMicros(at), time.Duration(latency)*time.Microsecond
		out = append(out, e)
	}
	if err := rs.Err(); err != nil {
		return nil, fail(ctx, "read journal", err)
	}
	return out, nil
}
