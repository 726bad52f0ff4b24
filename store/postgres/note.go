package postgres

import (
	"context"
	"time"

	"github.com/lib/pq"

	"github.com/ctirelay/ctirelay/relay"
)

const qNote query = "note"

// Note implements relay.Notebook in one statement, under the output lock
// so the notes' journal ids become visible in order with every other entry.
func (s *Store) Note(ctx context.Context, notes []relay.Note, now time.Time) error {
	if len(notes) == 0 {
		return nil
	}
	return fail("write notes", s.exec(ctx, qNote, noteArgs(notes, now)...))
}

// noteArgs are sql/note.sql's arguments: the notes' columns as arrays,
// and their time.
func noteArgs(notes []relay.Note, now time.Time) []any {
	n := len(notes)
	agent, origin, what, text := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, nt := range notes {
		agent[i], origin[i], what[i], text[i] = nt.Agent, nt.Origin, nt.What, nt.Text
	}
	return []any{pq.Array(agent), pq.Array(origin), pq.Array(what), pq.Array(text), micro(now)}
}
