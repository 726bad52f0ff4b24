package postgres

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"

	"github.com/ctirelay/ctirelay/relay"
)

// An intake is one transaction in two round trips: "BEGIN; EXECUTE take(…)"
// and "EXECUTE admit(…); COMMIT", each sent as one simple-protocol query.
// Through database/sql it would be four (BEGIN, take, admit, COMMIT), and at
// a thousand commands a second the intake runs back to back, so each round
// trip saved comes off the wait of every command (docs/performance.md). The
// relay parses the rows between the two, so they cannot be one statement.
//
// The statements are prepared in SQL (PREPARE) on each connection the first
// time it runs an intake, under names that carry a hash of their text, so a
// relay of another version or prefix on the same connection never runs the
// wrong one. The admission's arguments travel as literals (literals).

// intakeStatements are the names and PREPARE statements of the intake.
type intakeStatements struct {
	take, admit               string // names
	prepareTake, prepareAdmit string
}

func newIntakeStatements(q *queries) intakeStatements {
	name := func(base string, text string) string {
		sum := sha256.Sum256([]byte(text))
		return "ctirelay_" + base + "_" + hex.EncodeToString(sum[:6])
	}
	take, admit := q.text[qTakeTTI], q.text[qAdmit]
	st := intakeStatements{take: name("take", take), admit: name("admit", admit)}
	// The parameter types are those the statements cast their parameters to.
	st.prepareTake = "PREPARE " + st.take + " (bigint, int) AS " + take
	st.prepareAdmit = "PREPARE " + st.admit + " (text[], text[], text[], text[], text[], text[], text[], text[]," +
		" timestamptz, boolean, text, timestamptz, bigint, int[], bool[]) AS " + admit
	return st
}

// intakeTx is one intake transaction; full says the inbox bound ended it
// with rows left in T_TTI.
func (s *Store) intakeTx(ctx context.Context, req relay.IntakeRequest, claim relay.ClaimRequest) (n int, jobs []relay.Job, full bool, err error) {
	if err := s.check(); err != nil {
		return 0, nil, false, fail("intake", err)
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return 0, nil, false, fail("intake", err)
	}
	defer conn.Close()
	n, jobs, full, err = s.intakeOn(ctx, conn, req, claim)
	if pe := pq.As(err); pe != nil && pe.Code == pqerror.InvalidSQLStatementName {
		// A connection that lacks the statements (first use, or a
		// PREPARE that failed): the transaction rolled back whole.
		if err := s.prepareIntake(ctx, conn); err != nil {
			return 0, nil, false, fail("intake: prepare", err)
		}
		n, jobs, full, err = s.intakeOn(ctx, conn, req, claim)
	}
	if err != nil {
		return 0, nil, false, fail("intake", err)
	}
	return n, jobs, full, nil
}

// intakeOn runs the intake's transaction on conn, and rolls it back on any
// error.
func (s *Store) intakeOn(ctx context.Context, conn *sql.Conn, req relay.IntakeRequest, claim relay.ClaimRequest) (n int, jobs []relay.Job, full bool, err error) {
	defer func() {
		if err != nil {
			// After a failed COMMIT there is no transaction left, and
			// this ROLLBACK only draws a warning.
			s.abort(ctx, conn)
		}
	}()
	take := "BEGIN;\nEXECUTE " + s.intakeSQL.take + "(" + strconv.Itoa(req.Limit) + "," + strconv.Itoa(req.MaxInbox) + ")"
	rows, full, err := takeTTI(ctx, conn, take, req.Limit)
	if err != nil {
		return 0, nil, false, fmt.Errorf("take rows: %w", err)
	}
	if len(rows) == 0 {
		// Nothing written: ending it either way releases the intake lock.
		if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
			return 0, nil, false, fmt.Errorf("end: %w", err)
		}
		return 0, nil, full, nil
	}
	b := newBatch(len(rows))
	for _, r := range rows {
		b.add(relay.SourceERP, r.ref, r.text, req.MaxFrame)
	}
	args, err := b.admitArgs(req.Now, true, claim)
	if err != nil {
		return 0, nil, false, fmt.Errorf("record: %w", err)
	}
	var last int64
	var leased pq.Int64Array
	// Scan returns the COMMIT's error too: it reads the reply to its end.
	err = conn.QueryRowContext(ctx, "EXECUTE "+s.intakeSQL.admit+"("+args+");\nCOMMIT").Scan(&last, &leased)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return len(rows), nil, full, nil // every row refused; committed
	case err != nil:
		return 0, nil, false, fmt.Errorf("record: %w", err)
	}
	if jobs, err = b.recorded(last, leased, req.Now, claim); err != nil {
		// committed, but not as this relay asked: nothing to roll back
		return 0, nil, false, fmt.Errorf("record: %w", err)
	}
	return len(rows), jobs, full, nil
}

// prepareIntake prepares on conn those of the intake's statements it lacks.
func (s *Store) prepareIntake(ctx context.Context, conn *sql.Conn) error {
	have := map[string]bool{}
	rs, err := conn.QueryContext(ctx, "SELECT name FROM pg_prepared_statements WHERE name = ANY ($1)",
		pq.Array([]string{s.intakeSQL.take, s.intakeSQL.admit}))
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
		var name string
		if err := rs.Scan(&name); err != nil {
			return err
		}
		have[name] = true
	}
	if err := rs.Err(); err != nil {
		return err
	}
	for name, text := range map[string]string{s.intakeSQL.take: s.intakeSQL.prepareTake, s.intakeSQL.admit: s.intakeSQL.prepareAdmit} {
		if !have[name] {
			if _, err := conn.ExecContext(ctx, text); err != nil {
				return err
			}
		}
	}
	return nil
}

// abort rolls back whatever transaction a failed intake left open on conn;
// if even that fails, conn is closed rather than returned to the pool inside
// a transaction.
func (s *Store) abort(ctx context.Context, conn *sql.Conn) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
}

type ttiRow struct {
	id   int64
	ref  string
	text string
}

// takeTTI runs the take (sql/take_tti.sql) and returns up to limit rows of
// T_TTI, oldest first; full says the inbox bound ended the take with rows
// left in T_TTI.
func takeTTI(ctx context.Context, conn *sql.Conn, query string, limit int) (out []ttiRow, full bool, err error) {
	rs, err := conn.QueryContext(ctx, query)
	if err != nil {
		return nil, false, err
	}
	defer rs.Close()
	room := int64(limit)
	var more bool
	for rs.Next() {
		var id sql.NullInt64
		var text sql.NullString
		if err := rs.Scan(&room, &more, &id, &text); err != nil {
			return nil, false, err
		}
		if id.Valid {
			out = append(out, ttiRow{id: id.Int64, text: text.String})
		}
	}
	if err := rs.Err(); err != nil {
		return nil, false, err
	}
	// DELETE ... RETURNING promises no order.
	sortBy(out, func(r ttiRow) int64 { return r.id })
	for i := range out {
		out[i].ref = itoa(out[i].id)
	}
	return out, room < int64(limit) && more, nil
}
