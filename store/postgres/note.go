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
	n := len(notes)
	agent, origin, what, text := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, nt := range notes {
		agent[i], origin[i], what[i], text[i] = nt.Agent, nt.Origin, nt.What, nt.Text
	}
	st, err := s.stmt(ctx, qNote)
	if err != nil {
		return fail("write notes", err)
	}
	_, err = st.ExecContext(ctx, pq.Array(agent), pq.Array(origin), pq.Array(what), pq.Array(text), micro(now))
	return fail("write notes", err)
}
