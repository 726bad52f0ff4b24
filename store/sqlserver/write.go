package sqlserver

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

// inboxInsert is one row for sql/insert_inbox.sql: a command or a held
// refused message, leased at once when lease is set.
type inboxInsert struct {
	store.InboxRow
	leased bool
}

// insertInbox inserts rows in order, the leased ones running under claim,
// and returns their ids in the same order (identity values follow the
// statement's ORDER BY, and the intake applock keeps other writers out).
func (s *Store) insertInbox(ctx context.Context, tx *sql.Tx, rows []inboxInsert, now time.Time, claim relay.ClaimRequest) ([]int64, error) {
	b := s.q.batch(bInbox)
	ids := make([]int64, 0, len(rows))
	until := claim.LeaseUntil
	if until.IsZero() {
		until = now // a lease always has an expiry
	}
	err := store.Each(len(rows), b.maxRows, func(lo, hi int) error {
		args := make([]any, 0, b.b.Fixed+(hi-lo)*b.b.Params)
		args = append(args, ts(now))
		for k, r := range rows[lo:hi] {
			state, attempts, owner, expires := "ready", 0, any(sql.NullString{}), any(nullTS(time.Time{}))
			if r.leased {
				state, attempts, owner, expires = "running", 1, claim.Owner, nullTS(until)
			}
			args = append(args, i32(k), vc(r.Source), r.Ref, r.Agent, string(r.Verb), r.Frame,
				vc(state), i32(attempts), owner, expires)
		}
		rs, err := tx.QueryContext(ctx, b.SQL(hi-lo), args...)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var id int64
			if err := rs.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return rs.Err()
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(ids)
	if len(ids) != len(rows) {
		return nil, fmt.Errorf("inbox gave %d ids for %d rows", len(ids), len(rows))
	}
	return ids, nil
}

func (s *Store) insertDead(ctx context.Context, tx *sql.Tx, rows []store.DeadRow) error {
	b := s.q.batch(bDead)
	return store.Each(len(rows), b.maxRows, func(lo, hi int) error {
		args := make([]any, 0, (hi-lo)*b.b.Params)
		for k, r := range rows[lo:hi] {
			args = append(args, i32(k), nullID(r.InboxID), vc(r.Source), r.Ref, r.Agent, nullNV(string(r.Verb)), r.Frame,
				nullNV(r.Code), r.Reason, i32(r.Attempts), ts(r.EnqueuedAt), ts(r.DiedAt))
		}
		_, err := tx.ExecContext(ctx, b.SQL(hi-lo), args...)
		return err
	})
}

func (s *Store) insertJournal(ctx context.Context, tx *sql.Tx, rows []store.JournalRow) error {
	b := s.q.batch(bJournal)
	return store.Each(len(rows), b.maxRows, func(lo, hi int) error {
		args := make([]any, 0, (hi-lo)*b.b.Params)
		for k, r := range rows[lo:hi] {
			var latency any = sql.NullInt64{}
			if r.HasLatency {
				latency = r.Latency.Microseconds()
			}
			args = append(args, i32(k), ts(r.At), vc(r.Direction), vc(r.Kind), r.Agent, r.Frame, vc(r.Origin),
				nullNV(r.Ref), nullID(r.InboxID), nullVC(r.Outcome), latency)
		}
		_, err := tx.ExecContext(ctx, b.SQL(hi-lo), args...)
		return err
	})
}

// insertTTO writes frames to the ERP's outbound table in order: numbered by
// its identity, or by the relay (database.explicit_ids).
func (s *Store) insertTTO(ctx context.Context, tx *sql.Tx, frames []string) error {
	name := bTTO
	if s.opts.ExplicitIDs {
		name = bTTOExplicit
	}
	b := s.q.batch(name)
	return store.Each(len(frames), b.maxRows, func(lo, hi int) error {
		args := make([]any, 0, (hi-lo)*b.b.Params)
		for k, f := range frames[lo:hi] {
			args = append(args, i32(k+1), f)
		}
		_, err := tx.ExecContext(ctx, b.SQL(hi-lo), args...)
		return err
	})
}

// writeOutput writes journal rows and T_TTO frames under the output applock,
// held to commit so their ids become visible in order.
func (s *Store) writeOutput(ctx context.Context, tx *sql.Tx, journal []store.JournalRow, tto []string) error {
	if len(journal) == 0 && len(tto) == 0 {
		return nil
	}
	if err := getAppLock(ctx, tx, s.outputLock, "Transaction", lockWait); err != nil {
		return err
	}
	if err := s.insertTTO(ctx, tx, tto); err != nil {
		return fmt.Errorf("write %s: %w", s.names["tto"], err)
	}
	return s.insertJournal(ctx, tx, journal)
}

// scanJobs reads leased rows (sql/fragment/leased.sql) held by owner.
func scanJobs(rs *sql.Rows, owner string) ([]relay.Job, error) {
	return store.ScanJobs(rs, owner, store.Timestamp)
}
