package postgres

import (
	"context"
	"database/sql"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"

	"github.com/ctirelay/ctirelay/relay"
)

// staleCode is the SQLSTATE sql/intake_function.sql fails with when the rows
// the fast path read are no longer the ones to take.
const staleCode = "CTR01"

// fastMaxRows: after an intake of this many rows, or one the inbox bound
// ended, the next takes the locked path (Store.backlog), with no read
// first. Through a backlog the read is a second pass over a batch of
// rows and their texts for one round trip saved, and measured slower
// (docs/performance.md); at a few rows per intake the round trips are what
// the fast path saves.
const fastMaxRows = 100

// intakeFast is the intake in two round trips, neither of them with the
// intake lock held across a round trip: read the oldest rows of T_TTI
// (sql/peek_tti.sql: no transaction, no lock), admit them here, and one
// call (sql/intake_function.sql) that takes the intake lock, checks those
// rows are still the oldest, takes and records them, and commits. The
// locked intake (intakeTx) holds the lock from its take through the
// admission's round trip and its COMMIT's: under load each round trip is a
// scheduling delay too, and every row that arrives meanwhile waits for it.
//
// done is false when the locked intake must run instead, having changed
// nothing: the rows read were no longer the oldest (another relay took them,
// a transaction holds one, one was rolled back in before them), the inbox
// bound no longer leaves room, T_TTI refused an ERR reply (the locked intake
// isolates it), or the session has no function.
func (s *Store) intakeFast(ctx context.Context, req relay.IntakeRequest, claim relay.ClaimRequest) (n int, jobs []relay.Job, full, done bool, err error) {
	if s.fastOff.Load() {
		return 0, nil, false, false, nil
	}
	peek, err := s.stmt(ctx, qPeekTTI)
	if err != nil {
		return 0, nil, false, true, fail("intake", err)
	}
	rows, full, err := peekTTI(ctx, peek, req.Limit, req.MaxInbox)
	if err != nil {
		return 0, nil, false, true, fail("intake: read rows", err)
	}
	if len(rows) == 0 {
		return 0, nil, full, true, nil
	}
	call, err := s.stmt(ctx, qIntakeFast)
	if err != nil {
		done, err = s.fastFailed("intake", err)
		return 0, nil, false, done, err
	}
	b := newBatch(len(rows))
	ids := make([]int64, len(rows))
	for i, r := range rows {
		b.add(relay.Inbound{Source: relay.SourceERP, Ref: r.ref, Raw: r.text}, req.MaxFrame)
		ids[i] = r.id
	}
	if s.afterPeek != nil {
		s.afterPeek()
	}
	if jobs, err = b.record(ctx, call, req.Now, true, claim, pq.Array(ids), max(req.MaxInbox, 0)); err != nil {
		done, err = s.fastFailed("intake: record", err)
		return 0, nil, false, done, err
	}
	return len(rows), jobs, full, true, nil
}

// fastFailed says whether the locked intake should run after the fast path
// failed with err, and if not, the error.
func (s *Store) fastFailed(op string, err error) (done bool, _ error) {
	pe := pq.As(err)
	switch {
	case pe != nil && pe.Code == staleCode:
		s.fallbacks.Add(1)
		return false, nil
	case pe != nil && (pe.Code == pqerror.UndefinedFunction || pe.Code == pqerror.InvalidSchemaName):
		// the session function could not be created (connect.go)
		if !s.fastOff.Swap(true) {
			s.log.Warn("intake fast path off: no session function", "err", err)
		}
		return false, nil
	case dataRejected(err):
		return false, nil
	}
	return true, fail(op, err)
}

// peekTTI reads up to limit rows of T_TTI, oldest first, and fewer when
// maxInbox bounds the inbox; full says that bound ended the read with rows
// left in T_TTI (as takeTTI).
func peekTTI(ctx context.Context, st *sqlx.Stmt, limit, maxInbox int) (out []ttiRow, full bool, err error) {
	rs, err := st.QueryContext(ctx, limit, maxInbox)
	if err != nil {
		return nil, false, err
	}
	defer rs.Close()
	room := int64(limit)
	for rs.Next() {
		var id sql.NullInt64
		var text sql.NullString
		if err := rs.Scan(&room, &id, &text); err != nil {
			return nil, false, err
		}
		if id.Valid {
			out = append(out, ttiRow{id: id.Int64, text: text.String})
		}
	}
	if err := rs.Err(); err != nil {
		return nil, false, err
	}
	sortBy(out, func(r ttiRow) int64 { return r.id })
	more := int64(len(out)) > room
	out = out[:min(int64(len(out)), room)]
	for i := range out {
		out[i].ref = itoa(out[i].id)
	}
	return out, room < int64(limit) && more, nil
}
