package postgres

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/lib/pq"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

// The age of T_TTO rows (relay.OutboxExpiry) and the inbox's leases.
const (
	qOutboxMark   query = "outbox_mark"
	qOutboxExpire query = "outbox_expire"
	qLeaseHolders query = "lease_holders"
)

// MarkOutbox implements relay.OutboxExpiry (sql/outbox_mark.sql).
func (s *Store) MarkOutbox(ctx context.Context, now time.Time) error {
	return fail("mark T_TTO", s.exec(ctx, qOutboxMark, micro(now)))
}

// ExpireOutbox implements relay.OutboxExpiry: the rows and the marks they
// no longer need deleted, then the notes, in one transaction.
func (s *Store) ExpireOutbox(ctx context.Context, req relay.ExpireOutboxRequest) ([]relay.ExpiredOutput, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	var gone []relay.ExpiredOutput
	err := store.InTx(ctx, s.db, nil, func(tx *sql.Tx) error {
		gone = gone[:0]
		rs, err := tx.QueryContext(ctx, s.q.text[qOutboxExpire], micro(req.Before), req.Limit)
		if err != nil {
			return err
		}
		for rs.Next() {
			var o relay.ExpiredOutput
			if err := rs.Scan(&o.ID, &o.Frame); err != nil {
				rs.Close()
				return err
			}
			gone = append(gone, o)
		}
		if err := errors.Join(rs.Err(), rs.Close()); err != nil || len(gone) == 0 {
			return err
		}
		var agents, origins, whats, texts []string
		for _, o := range gone {
			n := req.Note(o)
			agents, origins, whats, texts = append(agents, n.Agent), append(origins, n.Origin), append(whats, n.What), append(texts, n.Text)
		}
		// Note's statement (sql/note.sql), in this transaction.
		_, err = tx.ExecContext(ctx, s.q.text[qNote], pq.Array(agents), pq.Array(origins), pq.Array(whats), pq.Array(texts), micro(req.Now))
		return err
	})
	if err != nil {
		return nil, fail("expire T_TTO", err)
	}
	return gone, nil
}

// LeaseHolders implements relay.LeaseHolders (sql/lease_holders.sql).
func (s *Store) LeaseHolders(ctx context.Context) ([]relay.LeaseHolding, error) {
	st, err := s.stmt(ctx, qLeaseHolders)
	if err != nil {
		return nil, fail("read leases", err)
	}
	rs, err := st.QueryContext(ctx)
	if err != nil {
		return nil, fail("read leases", err)
	}
	defer rs.Close()
	var out []relay.LeaseHolding
	for rs.Next() {
		var h relay.LeaseHolding
		if err := rs.Scan(&h.Owner, &h.Commands, &h.Expires); err != nil {
			return nil, fail("read leases", err)
		}
		h.Expires = h.Expires.UTC()
		out = append(out, h)
	}
	return out, fail("read leases", rs.Err())
}
