package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

// The age of T_TTO rows (relay.OutboxExpiry): marks of the largest IS_TTO.
const (
	// The largest IS_TTO, and whether T_TTO numbers with AUTOINCREMENT
	// (its row in sqlite_sequence, there once a row was inserted; the
	// relay's own tables make the sequence table exist): without it SQLite
	// gives the largest id again once the ERP has deleted the top rows, and
	// a mark would age a new row as old. Arg: T_TTO's name.
	sqlOutboxTop = `SELECT (SELECT max(IS_TTO) FROM {{tto}}),
       EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = ?1 COLLATE NOCASE)`
	sqlOutboxLastMark = `SELECT coalesce(max(tto_id), 0) FROM {{tto_mark}}`
	sqlOutboxMark     = `INSERT INTO {{tto_mark}} (at, tto_id) VALUES (?, ?)`
	// The newest mark at or before the cut.
	sqlOutboxMarkBefore = `SELECT at, tto_id FROM {{tto_mark}} WHERE at <= ? ORDER BY at DESC, tto_id DESC LIMIT 1`
	sqlOutboxExpire     = `DELETE FROM {{tto}} WHERE IS_TTO IN (
    SELECT IS_TTO FROM {{tto}} WHERE IS_TTO <= ? ORDER BY IS_TTO LIMIT ? + 0) RETURNING IS_TTO, DS_TTO`
	sqlOutboxDropMarks = `DELETE FROM {{tto_mark}} WHERE at < ?`
	// Every mark goes when the largest is above T_TTO's largest id: ids only
	// grow, so T_TTO was renumbered (its sequence reset) or emptied, and the
	// marks no longer date its ids. Dropping them only delays expiry.
	sqlOutboxReset = `DELETE FROM {{tto_mark}}
 WHERE (SELECT max(tto_id) FROM {{tto_mark}}) > coalesce((SELECT max(IS_TTO) FROM {{tto}}), 0)`
	sqlLeaseHolders = `SELECT lease_owner, count(*), max(lease_expires) FROM {{inbox}}
 WHERE state = 'running' AND lease_owner IS NOT NULL GROUP BY lease_owner ORDER BY lease_owner`
)

// MarkOutbox implements relay.OutboxExpiry.
func (s *Store) MarkOutbox(ctx context.Context, now time.Time) error {
	return s.inTx(ctx, "mark T_TTO", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.sql(sqlOutboxReset)); err != nil {
			return err
		}
		var top sql.NullInt64
		var autoincrement bool
		if err := tx.QueryRowContext(ctx, s.sql(sqlOutboxTop), s.names["tto_name"]).Scan(&top, &autoincrement); err != nil {
			return err
		}
		if !top.Valid {
			return nil // empty: nothing to age
		}
		if !autoincrement {
			return fmt.Errorf("%s has no AUTOINCREMENT: SQLite may number a new row as one the ERP deleted, so the age of its rows cannot be known", s.names["tto"])
		}
		var last int64
		if err := tx.QueryRowContext(ctx, s.sql(sqlOutboxLastMark)).Scan(&last); err != nil {
			return err
		}
		if top.Int64 <= last {
			return nil
		}
		_, err := tx.ExecContext(ctx, s.sql(sqlOutboxMark), micros(now), top.Int64)
		return err
	})
}

// ExpireOutbox implements relay.OutboxExpiry.
func (s *Store) ExpireOutbox(ctx context.Context, req relay.ExpireOutboxRequest) ([]relay.ExpiredOutput, error) {
	var gone []relay.ExpiredOutput
	err := s.inTx(ctx, "expire T_TTO", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.sql(sqlOutboxReset)); err != nil {
			return err
		}
		var markAt, upTo int64
		err := tx.QueryRowContext(ctx, s.sql(sqlOutboxMarkBefore), micros(req.Before)).Scan(&markAt, &upTo)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		rs, err := tx.QueryContext(ctx, s.sql(sqlOutboxExpire), upTo, req.Limit)
		if err != nil {
			return err
		}
		if gone, err = store.ScanExpiredOutputs(rs); err != nil {
			return err
		}
		rows := store.NoteRows(store.ExpiryNotes(req, gone), req.Now)
		if err := insertJournal(ctx, tx, s.q.journalRows, rows); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.sql(sqlOutboxDropMarks), markAt)
		return err
	})
	if err != nil {
		return nil, err
	}
	return gone, nil
}

// LeaseHolders implements relay.LeaseHolders.
func (s *Store) LeaseHolders(ctx context.Context) ([]relay.LeaseHolding, error) {
	rs, err := s.db.QueryContext(ctx, s.sql(sqlLeaseHolders))
	if err != nil {
		return nil, fail(ctx, "read leases", err)
	}
	out, err := store.ScanLeaseHolders(rs, store.UnixMicros)
	if err != nil {
		return nil, fail(ctx, "read leases", err)
	}
	return out, nil
}
