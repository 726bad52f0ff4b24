package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/ctirelay/ctirelay/relay"
)

// RowQuerier runs a query for one row: *sql.DB, *sqlx.DB, *sql.Tx, *sql.Conn.
type RowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Exists says whether query returns a row.
func Exists(ctx context.Context, q RowQuerier, query string, args ...any) (bool, error) {
	var one any
	switch err := q.QueryRowContext(ctx, query, args...).Scan(&one); {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}

// IntakeSteps are the statements of one intake transaction in a dialect
// that takes T_TTI's rows and admits them in separate statements (SQLite,
// SQL Server), run in order by Run.
type IntakeSteps struct {
	// Depth counts the inbox's rows, up to max.
	Depth func(max int) (int, error)
	// Take deletes up to limit of T_TTI's oldest rows and returns them in
	// IS_TTI order.
	Take func(limit int) ([]relay.Inbound, error)
	// More says whether T_TTI has a row left.
	More func() (bool, error)
	// Admit records the messages taken, leasing the arrivals it may.
	Admit func(msgs []relay.Inbound) ([]relay.Job, error)
}

// Run takes up to req.Limit rows, fewer when req.MaxInbox leaves less room
// in the inbox, and admits them. full says the inbox's bound, not T_TTI,
// ended the take (the intake returns relay.ErrInboxFull once committed).
func (st IntakeSteps) Run(req relay.IntakeRequest) (taken int, jobs []relay.Job, full bool, err error) {
	limit, bounded := req.Limit, false
	if req.MaxInbox > 0 {
		depth, err := st.Depth(req.MaxInbox)
		if err != nil {
			return 0, nil, false, err
		}
		if room := max(req.MaxInbox-depth, 0); room < req.Limit {
			limit, bounded = room, true
		}
	}
	msgs, err := st.Take(limit)
	if err != nil {
		return 0, nil, false, err
	}
	if bounded && len(msgs) == limit {
		// full only if the bound, not T_TTI, ended the take
		if full, err = st.More(); err != nil {
			return 0, nil, false, err
		}
	}
	jobs, err = st.Admit(msgs)
	if err != nil {
		return 0, nil, false, err
	}
	return len(msgs), jobs, full, nil
}
