package postgres

import (
	"context"
	"time"

	"github.com/lib/pq"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

const (
	qBury              query = "bury"
	qCursorsWithPrefix query = "cursors_with_prefix"
)

// Bury implements relay.Spool in one statement.
func (s *Store) Bury(ctx context.Context, letters []relay.DeadLetter, now time.Time) error {
	if len(letters) == 0 {
		return nil
	}
	n := len(letters)
	src, ref, agent, verb, frame, code, reason := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	enq := make([]int64, n)
	for i, d := range letters {
		src[i], ref[i], agent[i], verb[i], frame[i], code[i], reason[i] = d.Source, d.Ref, d.Agent, string(d.Verb), d.Frame, d.Code, d.Reason
		at := d.EnqueuedAt
		if at.IsZero() {
			at = now
		}
		enq[i] = at.UnixMicro()
	}
	st, err := s.stmt(ctx, qBury)
	if err != nil {
		return fail("bury dead letters", err)
	}
	_, err = st.ExecContext(ctx, pq.Array(src), pq.Array(ref), pq.Array(agent), pq.Array(verb), pq.Array(frame),
		pq.Array(code), pq.Array(reason), pq.Array(enq), micro(now))
	return fail("bury dead letters", err)
}

// CursorsWithPrefix implements relay.Spool.
func (s *Store) CursorsWithPrefix(ctx context.Context, prefix string) ([]relay.Cursor, error) {
	st, err := s.stmt(ctx, qCursorsWithPrefix)
	if err != nil {
		return nil, fail("read cursors", err)
	}
	rs, err := st.QueryContext(ctx, prefix)
	if err != nil {
		return nil, fail("read cursors", err)
	}
	out, err := store.ScanCursors(rs, store.Timestamp)
	return out, fail("read cursors", err)
}
