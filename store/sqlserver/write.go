package sqlserver

import (
	"context"
	"database/sql"
	"errors"
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
		var err error
		ids, err = store.QueryIDs(ctx, tx, ids, b.SQL(hi-lo), args...)
		return err
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
				nullNV(r.Ref), nullID(r.InboxID), nullVC(r.Outcome), latency, nullNV(r.Error))
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

// refusals are the outputs the ERP's outbound table refused for their data,
// by outputKey, with the database's message; nil: none is known, and the
// outputs are written a batch a statement.
type refusals map[string]string

// outputKey names an output across runs of a transaction: the same message
// for the same command (or, for an event, the same frame at the same time).
func outputKey(r store.JournalRow) string {
	return fmt.Sprintf("%s|%s|%d|%s|%d|%s", r.Kind, r.Origin, r.InboxID, r.Ref, r.At.UnixMicro(), r.Frame)
}

// shortKey marks, after an output's key, that its store.ShortReply was
// refused too.
const shortKey = "\x00short"

// refusedError is an output the ERP's table refused while the outputs were
// written one at a time: the transaction is run again with it in refusals.
type refusedError struct {
	key, msg string
	err      error
}

func (e *refusedError) Error() string { return "output refused: " + e.err.Error() }
func (e *refusedError) Unwrap() error { return e.err }

// withRefusals runs a transaction that writes outputs (run), isolating
// those the ERP's outbound table refuses for their data: once a batch is
// refused (relay.ErrDataRejected), run goes again writing one output at a
// time, and again for each output refused, which is then dead-lettered
// (writeOutput). A refusal can leave the transaction doomed (a trigger's
// error ends it), so it is the whole transaction that runs again, never the
// rest of one. ErrDataRejected comes back only when even the record of a
// refused output was refused.
func (s *Store) withRefusals(run func(refused refusals) error) error {
	var refused refusals
	for {
		err := run(refused)
		var re *refusedError
		switch {
		case errors.As(err, &re):
			if _, seen := refused[re.key]; seen {
				return err // no progress: refused again as refused
			}
			refused[re.key] = re.msg
		case refused == nil && errors.Is(err, relay.ErrDataRejected):
			refused = refusals{}
		default:
			return err
		}
	}
}

// writeOutput writes journal rows and, for those that go to the ERP
// (store.ToOutbox), their frames to T_TTO, under the output applock held to
// commit so ids become visible in order. With refusals it writes T_TTO a
// row at a time: a known refused output is journaled with its error and
// dead-lettered instead, and a new refusal ends the transaction with a
// *refusedError.
func (s *Store) writeOutput(ctx context.Context, tx *sql.Tx, journal []store.JournalRow, refused refusals) error {
	if len(journal) == 0 {
		return nil
	}
	if err := getAppLock(ctx, tx, s.outputLock, "Transaction", lockWait); err != nil {
		return err
	}
	table := s.names["tto"]
	if refused == nil {
		var tto []string
		for _, r := range journal {
			if store.ToOutbox(r) {
				tto = append(tto, r.Frame)
			}
		}
		if err := s.insertTTO(ctx, tx, tto); err != nil {
			return fmt.Errorf("write %s: %w", table, err)
		}
		return s.insertJournal(ctx, tx, journal)
	}
	rows := slices.Clone(journal)
	var dead []store.DeadRow
	for i, r := range rows {
		if !store.ToOutbox(r) {
			continue
		}
		key := outputKey(r)
		if msg, ok := refused[key]; ok {
			d := store.RefusedOutput(r, table, msg)
			if short, ok := store.ShortReply(r); ok {
				if _, refusedToo := refused[key+shortKey]; !refusedToo {
					if err := s.insertTTO(ctx, tx, []string{short}); err != nil {
						if isDataError(err) {
							return &refusedError{key: key + shortKey, msg: driverMessage(err), err: err}
						}
						return err
					}
					d.Reason = store.ShortenedReason(d.Reason, short)
				}
			}
			rows[i].Error = d.Reason
			dead = append(dead, d)
			s.log.Error("output refused by the database: dead-lettered", "table", table, "kind", r.Kind,
				"agent", r.Agent, "frame", r.Frame, "err", msg)
			continue
		}
		if err := s.insertTTO(ctx, tx, []string{r.Frame}); err != nil {
			if isDataError(err) {
				return &refusedError{key: key, msg: driverMessage(err), err: err}
			}
			return err
		}
	}
	if err := s.insertJournal(ctx, tx, rows); err != nil {
		return err
	}
	return s.insertDead(ctx, tx, dead)
}

// scanJobs reads leased rows (sql/fragment/leased.sql) held by owner.
func scanJobs(rs *sql.Rows, owner string) ([]relay.Job, error) {
	return store.ScanJobs(rs, owner, store.Timestamp)
}
