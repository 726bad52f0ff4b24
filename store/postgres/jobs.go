package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return micro(t)
}

// BeginRun implements relay.JobRuns: in one transaction, the job's stale
// runs abandoned, then the insert the unique indexes allow or refuse.
func (s *Store) BeginRun(ctx context.Context, run relay.JobRun, staleBefore time.Time) (int64, error) {
	if err := s.check(); err != nil {
		return 0, err
	}
	var id int64
	var refused error
	err := store.InTx(ctx, s.db, nil, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q.text[qRunAbandon], run.Job, micro(staleBefore), micro(run.StartedAt)); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, s.q.text[qRunInsert], run.Job, micro(run.Slot), run.Manual, run.Node, run.Status,
			micro(run.StartedAt), nullTime(run.FinishedAt), micro(run.HeartbeatAt), run.Summary).Scan(&id)
		if err == nil || err != sql.ErrNoRows {
			return err
		}
		var taken bool
		if err := tx.QueryRowContext(ctx, s.q.text[qRunSlotTaken], run.Job, micro(run.Slot)).Scan(&taken); err != nil {
			return err
		}
		refused = relay.ErrJobRunning
		if taken && !run.Manual {
			refused = relay.ErrSlotTaken
		}
		return nil
	})
	if err != nil {
		return 0, fail("begin job run", err)
	}
	if refused != nil {
		return 0, fmt.Errorf("begin job run %s: %w", run.Job, refused)
	}
	return id, nil
}

// UpdateRun implements relay.JobRuns.
func (s *Store) UpdateRun(ctx context.Context, id int64, status string, at time.Time, summary string) error {
	var err error
	if status == relay.RunRunning {
		err = s.exec(ctx, qRunTouch, id, micro(at))
	} else {
		err = s.exec(ctx, qRunFinish, id, status, micro(at), summary)
	}
	return fail("update job run", err)
}

func (s *Store) exec(ctx context.Context, q query, args ...any) error {
	st, err := s.stmt(ctx, q)
	if err != nil {
		return err
	}
	_, err = st.ExecContext(ctx, args...)
	return err
}

// JobRuns implements relay.JobRuns.
func (s *Store) JobRuns(ctx context.Context, job string, limit int) ([]relay.JobRun, error) {
	st, err := s.stmt(ctx, qJobRuns)
	if err != nil {
		return nil, fail("read job runs", err)
	}
	if limit <= 0 {
		limit = 1000
	}
	rs, err := st.QueryContext(ctx, job, limit)
	if err != nil {
		return nil, fail("read job runs", err)
	}
	out, err := store.ScanJobRuns(rs, store.Timestamp)
	return out, fail("read job runs", err)
}

// LastSlot implements relay.JobRuns.
func (s *Store) LastSlot(ctx context.Context, job string) (time.Time, error) {
	st, err := s.stmt(ctx, qLastSlot)
	if err != nil {
		return time.Time{}, fail("read last slot", err)
	}
	var last sql.NullTime
	if err := st.QueryRowContext(ctx, job).Scan(&last); err != nil {
		return time.Time{}, fail("read last slot", err)
	}
	if !last.Valid {
		return time.Time{}, nil
	}
	return last.Time.UTC(), nil
}

// Prune implements relay.Housekeeping (sql/prune_*.sql).
func (s *Store) Prune(ctx context.Context, table string, before time.Time, limit int) (int, error) {
	q, ok := map[string]query{relay.PruneJournal: qPruneJournal, relay.PruneDead: qPruneDead, relay.PruneJobRuns: qPruneJobRuns}[table]
	if !ok {
		return 0, fmt.Errorf("prune: no table %q", table)
	}
	st, err := s.stmt(ctx, q)
	if err != nil {
		return 0, fail("prune "+table, err)
	}
	res, err := st.ExecContext(ctx, micro(before), limit)
	if err != nil {
		return 0, fail("prune "+table, err)
	}
	n, err := res.RowsAffected()
	return int(n), fail("prune "+table, err)
}

// PruneNodes implements relay.Housekeeping.
func (s *Store) PruneNodes(ctx context.Context, before time.Time) ([]string, error) {
	st, err := s.stmt(ctx, qPruneNodes)
	if err != nil {
		return nil, fail("prune nodes", err)
	}
	rs, err := st.QueryContext(ctx, micro(before))
	if err != nil {
		return nil, fail("prune nodes", err)
	}
	defer rs.Close()
	var gone []string
	for rs.Next() {
		var id string
		if err := rs.Scan(&id); err != nil {
			return nil, fail("prune nodes", err)
		}
		gone = append(gone, id)
	}
	return gone, fail("prune nodes", rs.Err())
}

// JournalBetween implements relay.Housekeeping.
func (s *Store) JournalBetween(ctx context.Context, from, to time.Time, afterID int64, limit int) ([]relay.JournalEntry, error) {
	st, err := s.stmt(ctx, qJournalPeriod)
	if err != nil {
		return nil, fail("read journal", err)
	}
	rs, err := st.QueryContext(ctx, micro(from), micro(to), afterID, limit)
	if err != nil {
		return nil, fail("read journal", err)
	}
	out, err := store.ScanJournal(rs, store.Timestamp)
	return out, fail("read journal", err)
}
