package sqlserver

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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

// maxExpire bounds the T_TTO rows one ExpireOutbox deletes.
const maxExpire = 4000

// errReusedIDs refuses marks on a T_TTO the relay numbers after its
// largest row (database.explicit_ids): once the ERP has deleted the top
// rows, a new row takes an id a mark already covers, and would be aged as
// old as that mark.
var errReusedIDs = errors.New("T_TTO is numbered by the relay after its largest row (database.explicit_ids), so the age of its rows cannot be known")

// MarkOutbox implements relay.OutboxExpiry (sql/outbox_mark.sql).
func (s *Store) MarkOutbox(ctx context.Context, now time.Time) error {
	if s.opts.ExplicitIDs {
		return fmt.Errorf("mark T_TTO: %w", errReusedIDs)
	}
	_, err := s.exec(ctx, "mark T_TTO", qOutboxMark, ts(now))
	return err
}

// ExpireOutbox implements relay.OutboxExpiry: the rows and the marks they
// no longer need deleted, then, under the output applock, the notes, in one
// transaction.
func (s *Store) ExpireOutbox(ctx context.Context, req relay.ExpireOutboxRequest) ([]relay.ExpiredOutput, error) {
	if s.opts.ExplicitIDs {
		return nil, fmt.Errorf("expire T_TTO: %w", errReusedIDs)
	}
	var gone []relay.ExpiredOutput
	err := s.inTx(ctx, "expire T_TTO", func(tx *sql.Tx) error {
		// Under lock escalation's ~5,000 locks a statement: a table lock
		// on the ERP's T_TTO would stop its reader.
		rs, err := tx.QueryContext(ctx, s.q.sql(qOutboxExpire), ts(req.Before), i32(min(req.Limit, maxExpire)))
		if err != nil {
			return err
		}
		if gone, err = store.ScanExpiredOutputs(rs); err != nil || len(gone) == 0 {
			return err
		}
		rows := store.NoteRows(store.ExpiryNotes(req, gone), req.Now)
		if err := getAppLock(ctx, tx, s.outputLock, "Transaction", lockWait); err != nil {
			return err
		}
		return s.insertJournal(ctx, tx, rows)
	})
	if err != nil {
		return nil, err
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
