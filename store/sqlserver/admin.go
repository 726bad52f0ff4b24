package sqlserver

import (
	"context"
	"database/sql"
	"slices"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

// Journal implements relay.Operators: entries after afterID in id order.
// Writers commit journal rows in id order (the output applock), so a
// follower that remembers the last id it saw never skips one.
func (s *Store) Journal(ctx context.Context, afterID int64, limit int) ([]relay.JournalEntry, error) {
	if limit <= 0 {
		limit = 1000
	}
	rs, err := s.query(ctx, qJournal, afterID, int64(limit))
	if err != nil {
		return nil, fail("read journal", err)
	}
	out, err := store.ScanJournal(rs, store.Timestamp)
	return out, fail("read journal", err)
}

// JournalHead implements relay.JournalReader: the last journal id.
func (s *Store) JournalHead(ctx context.Context) (int64, error) {
	if err := s.check(); err != nil {
		return 0, err
	}
	var id int64
	return id, fail("journal head", s.db.QueryRowContext(ctx, s.q.sql(qJournalHead)).Scan(&id))
}

// DeadLetters implements relay.Operators.
func (s *Store) DeadLetters(ctx context.Context, afterID int64, limit int) ([]relay.DeadLetter, error) {
	if limit <= 0 {
		limit = 1000
	}
	rs, err := s.query(ctx, qDeadLetters, afterID, int64(limit))
	if err != nil {
		return nil, fail("read dead letters", err)
	}
	out, err := store.ScanDeadLetters(rs, store.Timestamp)
	return out, fail("read dead letters", err)
}

// sortedIDs returns ids sorted, without repeats.
func sortedIDs(ids []int64) []int64 {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

// RetryDead implements relay.Operators: dead letters with a verb go back to
// the tail of the inbox, in dead-letter order, under the intake applock.
func (s *Store) RetryDead(ctx context.Context, ids []int64, now time.Time) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	ids = sortedIDs(ids)
	b := s.q.batch(bRetryDead)
	var n int
	err := s.inTx(ctx, "retry dead letters", func(tx *sql.Tx) error {
		n = 0
		if err := getAppLock(ctx, tx, s.intakeLock, "Transaction", lockWait); err != nil {
			return err
		}
		return store.Each(len(ids), b.maxRows, func(lo, hi int) error {
			args := make([]any, 0, b.b.Fixed+hi-lo)
			args = append(args, ts(now))
			for _, id := range ids[lo:hi] {
				args = append(args, id)
			}
			var got int64
			if err := tx.QueryRowContext(ctx, b.SQL(hi-lo), args...).Scan(&got); err != nil {
				return err
			}
			n += int(got)
			return nil
		})
	})
	return n, err
}

// DropDead implements relay.Operators.
func (s *Store) DropDead(ctx context.Context, ids []int64) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	return s.execIDs(ctx, "drop dead letters", bDropDead, sortedIDs(ids))
}

// execIDs runs the batch statement name over ids, in runs of rows, each
// with fixed before the ids, in one transaction, and counts the rows it
// changed.
func (s *Store) execIDs(ctx context.Context, op string, name query, ids []int64, fixed ...any) (int, error) {
	b := s.q.batch(name)
	var n int
	err := s.inTx(ctx, op, func(tx *sql.Tx) error {
		n = 0
		return store.Each(len(ids), b.maxRows, func(lo, hi int) error {
			args := append(append(make([]any, 0, len(fixed)+hi-lo), fixed...), store.Args(ids[lo:hi])...)
			res, err := tx.ExecContext(ctx, b.SQL(hi-lo), args...)
			if err != nil {
				return err
			}
			got, err := res.RowsAffected()
			n += int(got)
			return err
		})
	})
	return n, err
}

// Status implements relay.Operators from the relay_queue_status view, with
// ages against now (sql/status.sql sets the view's clock for its batch).
func (s *Store) Status(ctx context.Context, now time.Time) (relay.QueueStatus, error) {
	var st relay.QueueStatus
	if err := s.check(); err != nil {
		return st, err
	}
	var oldest int64
	err := s.db.QueryRowContext(ctx, s.q.sql(qStatus), ts(now)).Scan(&st.Pending, &st.Inbox, &st.Ready, &st.InFlight,
		&st.Retrying, &st.Dead, &st.Outbox, &oldest, &st.Done1m)
	st.OldestAge = time.Duration(oldest) * time.Second
	return st, fail("queue status", err)
}

// Agents implements relay.Operators from the relay_agent_status view.
func (s *Store) Agents(ctx context.Context, now time.Time) ([]relay.AgentStatus, error) {
	rs, err := s.query(ctx, qAgents, ts(now))
	if err != nil {
		return nil, fail("agent status", err)
	}
	defer rs.Close()
	var out []relay.AgentStatus
	for rs.Next() {
		var a relay.AgentStatus
		var last sql.NullTime
		if err := rs.Scan(&a.Agent, &a.Pending, &a.InFlight, &last); err != nil {
			return nil, fail("agent status", err)
		}
		if last.Valid {
			a.LastActivity = last.Time.UTC()
		}
		out = append(out, a)
	}
	return out, fail("agent status", rs.Err())
}

// Abandon implements relay.Sources.
func (s *Store) Abandon(ctx context.Context, ids []int64, why *relay.ProtocolError) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	return s.execIDs(ctx, "abandon commands", bAbandon, sortedIDs(ids), string(relay.RefusedVerb(why)))
}

// JournalWakeups implements relay.JournalReader: no notifications across
// processes, so feeds poll.
func (s *Store) JournalWakeups() <-chan struct{} { return nil }
