package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

// defaultPage is the page size when a caller passes no limit.
const defaultPage = 1000

func page(limit int) int {
	if limit <= 0 {
		return defaultPage
	}
	return limit
}

// Journal returns journal entries with id > afterID in id order.
func (s *Store) Journal(ctx context.Context, afterID int64, limit int) ([]relay.JournalEntry, error) {
	rs, err := s.db.QueryContext(ctx, s.q.journal, afterID, page(limit))
	if err != nil {
		return nil, fail(ctx, "read journal", err)
	}
	out, err := store.ScanJournal(rs, store.UnixMicros)
	if err != nil {
		return nil, fail(ctx, "read journal", err)
	}
	return out, nil
}

// DeadLetters returns dead letters with id > afterID in id order.
func (s *Store) DeadLetters(ctx context.Context, afterID int64, limit int) ([]relay.DeadLetter, error) {
	rs, err := s.db.QueryContext(ctx, s.q.deadLetters, afterID, page(limit))
	if err != nil {
		return nil, fail(ctx, "read dead letters", err)
	}
	out, err := store.ScanDeadLetters(rs, store.UnixMicros)
	if err != nil {
		return nil, fail(ctx, "read dead letters", err)
	}
	return out, nil
}

// RetryDead moves dead letters back to the tail of the inbox as new commands
// (new id, attempts 0, enqueued now) in one transaction. Messages refused at
// intake have no verb and are skipped.
func (s *Store) RetryDead(ctx context.Context, ids []int64, now time.Time) (int, error) {
	ids = sortedUnique(ids)
	if len(ids) == 0 {
		return 0, nil
	}
	n := 0
	err := s.inTx(ctx, "retry dead letters", func(tx *sql.Tx) error {
		return store.Each(len(ids), maxRows, func(lo, hi int) error {
			args := make([]any, 0, 1+hi-lo)
			args = append(args, micros(now))
			for _, id := range ids[lo:hi] {
				args = append(args, id)
			}
			res, err := tx.ExecContext(ctx, s.q.retryDead.SQL(hi-lo), args...)
			if err != nil {
				return err
			}
			inserted, err := res.RowsAffected()
			if err != nil {
				return err
			}
			res, err = tx.ExecContext(ctx, s.q.deleteRetried.SQL(hi-lo), args[1:]...)
			if err != nil {
				return err
			}
			deleted, err := res.RowsAffected()
			if err != nil {
				return err
			}
			if inserted != deleted {
				return errCount("retried dead letters", int(deleted), int(inserted))
			}
			n += int(inserted)
			return nil
		})
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// DropDead deletes dead letters for good.
func (s *Store) DropDead(ctx context.Context, ids []int64) (int, error) {
	ids = sortedUnique(ids)
	if len(ids) == 0 {
		return 0, nil
	}
	n := 0
	err := s.inTx(ctx, "drop dead letters", func(tx *sql.Tx) error {
		return store.Each(len(ids), maxRows, func(lo, hi int) error {
			args := make([]any, 0, hi-lo)
			for _, id := range ids[lo:hi] {
				args = append(args, id)
			}
			res, err := tx.ExecContext(ctx, s.q.dropDeadLetter.SQL(hi-lo), args...)
			if err != nil {
				return err
			}
			deleted, err := res.RowsAffected()
			n += int(deleted)
			return err
		})
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

func sortedUnique(ids []int64) []int64 {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	return slices.Compact(ids)
}

// Status reads relay_queue_status, the view DBAs query; its ages use the
// database clock, so now is not needed here.
func (s *Store) Status(ctx context.Context, _ time.Time) (relay.QueueStatus, error) {
	var st relay.QueueStatus
	var oldest sql.NullInt64
	err := s.db.QueryRowContext(ctx, s.q.status).Scan(&st.Pending, &st.Inbox, &st.Ready, &st.InFlight, &st.Retrying,
		&st.Dead, &st.Outbox, &oldest, &st.Done1m)
	if err != nil {
		return st, fail(ctx, "read queue status", err)
	}
	st.OldestAge = time.Duration(oldest.Int64) * time.Second
	return st, nil
}

// viewTime is how the SQLite views show times (UTC).
const viewTime = "2006-01-02 15:04:05.000"

// Agents reads relay_agent_status, ordered by agent.
func (s *Store) Agents(ctx context.Context, _ time.Time) ([]relay.AgentStatus, error) {
	rs, err := s.db.QueryContext(ctx, s.q.agents)
	if err != nil {
		return nil, fail(ctx, "read agent status", err)
	}
	defer rs.Close()
	var out []relay.AgentStatus
	for rs.Next() {
		var a relay.AgentStatus
		var last sql.NullString
		if err := rs.Scan(&a.Agent, &a.Pending, &a.InFlight, &last); err != nil {
			return nil, fail(ctx, "read agent status", err)
		}
		if last.Valid {
			t, err := time.Parse(viewTime, last.String)
			if err != nil {
				return nil, fmt.Errorf("read agent status: last_activity %q: %w", last.String, err)
			}
			a.LastActivity = t
		}
		out = append(out, a)
	}
	if err := rs.Err(); err != nil {
		return nil, fail(ctx, "read agent status", err)
	}
	return out, nil
}
