package postgres

import (
	"context"
	"database/sql"
	"time"

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
		rs, err := tx.QueryContext(ctx, s.q.text[qOutboxExpire], micro(req.Before), req.Limit)
		if err != nil {
			return err
		}
		if gone, err = store.ScanExpiredOutputs(rs); err != nil || len(gone) == 0 {
			return err
		}
		// Note's statement (sql/note.sql), in this transaction.
		_, err = tx.ExecContext(ctx, s.q.text[qNote], noteArgs(store.ExpiryNotes(req, gone), req.Now)...)
		return err
	})
	if err != nil {
		return nil, fail("expire T_TTO", err)
	}
	return gone, nil
}

// LeaseHolders implements relay.LeaseHolders (sql/lease_holders.sql).
func (s *Store) LeaseHolders(ctx context.Context) ([]relay.LeaseHolding, error) {
	rs, err := s.query(ctx, qLeaseHolders)
	if err != nil {
		return nil, fail("read leases", err)
	}
	out, err := store.ScanLeaseHolders(rs, store.Timestamp)
	return out, fail("read leases", err)
}
