package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"strconv"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

// Intake moves up to req.Limit rows from T_TTI into the inbox (or relay_dead)
// in one transaction and returns how many it took.
func (s *Store) Intake(ctx context.Context, req relay.IntakeRequest) (int, error) {
	if req.Limit <= 0 {
		return 0, nil
	}
	// Look before taking the write lock: an idle relay polling an empty
	// T_TTI must not keep the ERP's writers waiting.
	var one int
	err := s.db.QueryRowContext(ctx, s.q.anyTTI).Scan(&one)
	if err == sql.ErrNoRows {
		return 0, nil
	}
	if err != nil {
		return 0, fail(ctx, "intake", err)
	}
	var taken int
	err = s.inTx(ctx, "intake", func(tx *sql.Tx) error {
		msgs, err := s.takeTTI(ctx, tx, req.Limit)
		if err != nil {
			return err
		}
		taken = len(msgs)
		_, err = s.admit(ctx, tx, msgs, req.Now, req.MaxFrame)
		return err
	})
	if err != nil {
		return 0, err
	}
	return taken, nil
}

// takeTTI deletes the oldest rows of T_TTI and returns them in IS_TTI order.
func (s *Store) takeTTI(ctx context.Context, tx *sql.Tx, limit int) ([]relay.Inbound, error) {
	type row struct {
		id  int64
		raw string
	}
	rs, err := tx.QueryContext(ctx, s.q.takeTTI, limit)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var rows []row
	for rs.Next() {
		var r row
		var raw sql.NullString // a NULL from a lax ERP table is an empty, malformed message
		if err := rs.Scan(&r.id, &raw); err != nil {
			return nil, err
		}
		r.raw = raw.String
		rows = append(rows, r)
	}
	if err := rs.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(rows, func(a, b row) int { return cmp.Compare(a.id, b.id) })
	msgs := make([]relay.Inbound, len(rows))
	for i, r := range rows {
		msgs[i] = relay.Inbound{Source: relay.SourceERP, Ref: strconv.FormatInt(r.id, 10), Raw: r.raw}
	}
	return msgs, nil
}

// Enqueue records messages from bridges and the CLI like Intake does, in one
// transaction; ERR replies to rejected ones are journaled, not put in T_TTO.
func (s *Store) Enqueue(ctx context.Context, msgs []relay.Inbound, now time.Time, maxFrame int) ([]relay.Enqueued, error) {
	if len(msgs) == 0 {
		return []relay.Enqueued{}, nil
	}
	var out []relay.Enqueued
	err := s.inTx(ctx, "enqueue", func(tx *sql.Tx) error {
		a, err := s.admit(ctx, tx, msgs, now, maxFrame)
		if err != nil {
			return err
		}
		out = a.Results
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// admit writes a batch of messages: inbox rows, dead letters, journal and the
// ERR replies due to the ERP.
func (s *Store) admit(ctx context.Context, tx *sql.Tx, msgs []relay.Inbound, now time.Time, maxFrame int) (*store.Admissions, error) {
	a := store.Admit(msgs, now, maxFrame)
	ids, err := insertInbox(ctx, tx, s.q.inbox, a.Inbox, now)
	if err != nil {
		return nil, err
	}
	if len(ids) != len(a.Inbox) {
		return nil, errCount("inbox ids", len(ids), len(a.Inbox))
	}
	if err := insertDead(ctx, tx, s.q.dead, a.Dead); err != nil {
		return nil, err
	}
	if err := insertJournal(ctx, tx, s.q.journalRows, a.Journal(ids)); err != nil {
		return nil, err
	}
	if err := insertTTO(ctx, tx, s.q.tto, a.Outbox); err != nil {
		return nil, err
	}
	return a, nil
}
