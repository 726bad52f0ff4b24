package postgres

import (
	"context"
	"database/sql"
	"time"

	"github.com/lib/pq"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

// Journal implements relay.Operators: entries after afterID in id order. Writers
// commit journal rows in id order (see the output lock), so a follower that
// remembers the last id it saw never skips one.
func (s *Store) Journal(ctx context.Context, afterID int64, limit int) ([]relay.JournalEntry, error) {
	st, err := s.stmt(ctx, qJournal)
	if err != nil {
		return nil, fail("read journal", err)
	}
	rs, err := st.QueryContext(ctx, afterID, limit)
	if err != nil {
		return nil, fail("read journal", err)
	}
	out, err := store.ScanJournal(rs, store.Timestamp)
	return out, fail("read journal", err)
}

// JournalHead implements relay.JournalReader: the last journal id.
func (s *Store) JournalHead(ctx context.Context) (int64, error) {
	st, err := s.stmt(ctx, qJournalHead)
	if err != nil {
		return 0, fail("journal head", err)
	}
	var id int64
	return id, fail("journal head", st.QueryRowContext(ctx).Scan(&id))
}

// DeadLetters implements relay.Operators.
func (s *Store) DeadLetters(ctx context.Context, afterID int64, limit int) ([]relay.DeadLetter, error) {
	st, err := s.stmt(ctx, qDeadLetters)
	if err != nil {
		return nil, fail("read dead letters", err)
	}
	rs, err := st.QueryContext(ctx, afterID, limit)
	if err != nil {
		return nil, fail("read dead letters", err)
	}
	out, err := store.ScanDeadLetters(rs, store.Timestamp)
	return out, fail("read dead letters", err)
}

// RetryDead implements relay.Operators in one statement (sql/retry_dead.sql).
func (s *Store) RetryDead(ctx context.Context, ids []int64, now time.Time) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	st, err := s.stmt(ctx, qRetryDead)
	if err != nil {
		return 0, fail("retry dead letters", err)
	}
	var n int
	return n, fail("retry dead letters", st.QueryRowContext(ctx, pq.Array(ids), micro(now)).Scan(&n))
}

// DropDead implements relay.Operators.
func (s *Store) DropDead(ctx context.Context, ids []int64) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	st, err := s.stmt(ctx, qDropDead)
	if err != nil {
		return 0, fail("drop dead letters", err)
	}
	res, err := st.ExecContext(ctx, pq.Array(ids))
	if err != nil {
		return 0, fail("drop dead letters", err)
	}
	n, err := res.RowsAffected()
	return int(n), fail("drop dead letters", err)
}

// Status implements relay.Operators from the relay_queue_status view, with ages
// against now.
func (s *Store) Status(ctx context.Context, now time.Time) (relay.QueueStatus, error) {
	var st relay.QueueStatus
	err := s.atClock(ctx, now, func(tx *sql.Tx) error {
		var oldest int64
		err := tx.QueryRowContext(ctx, s.q.text[qStatus]).Scan(&st.Pending, &st.Inbox, &st.Ready, &st.InFlight,
			&st.Retrying, &st.Dead, &st.Outbox, &oldest, &st.Done1m)
		st.OldestAge = time.Duration(oldest) * time.Second
		return err
	})
	return st, fail("queue status", err)
}

// Agents implements relay.Operators from the relay_agent_status view.
func (s *Store) Agents(ctx context.Context, now time.Time) ([]relay.AgentStatus, error) {
	var out []relay.AgentStatus
	err := s.atClock(ctx, now, func(tx *sql.Tx) error {
		rs, err := tx.QueryContext(ctx, s.q.text[qAgents])
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var a relay.AgentStatus
			var last sql.NullTime
			if err := rs.Scan(&a.Agent, &a.Pending, &a.InFlight, &last); err != nil {
				return err
			}
			if last.Valid {
				a.LastActivity = last.Time.UTC()
			}
			out = append(out, a)
		}
		return rs.Err()
	})
	return out, fail("agent status", err)
}

// atClock runs f in a read-only transaction whose views read now as the
// current time (ctirelay.now).
func (s *Store) atClock(ctx context.Context, now time.Time, f func(tx *sql.Tx) error) error {
	if err := s.check(); err != nil {
		return err
	}
	return store.InTx(ctx, s.db, &sql.TxOptions{ReadOnly: true}, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q.text[qSetClock], tsText(now)); err != nil {
			return err
		}
		return f(tx)
	})
}
