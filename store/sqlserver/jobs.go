package sqlserver

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

// BeginRun implements relay.JobRuns (sql/job_run_begin.sql): one batch in
// one transaction, its checks under key-range locks.
func (s *Store) BeginRun(ctx context.Context, run relay.JobRun, staleBefore time.Time) (int64, error) {
	var id int64
	var taken int
	err := s.inTx(ctx, "begin job run", func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, s.q.sql(qRunBegin), run.Job, ts(run.Slot), run.Manual, run.Node, run.Status,
			ts(run.StartedAt), nullTS(run.FinishedAt), ts(run.HeartbeatAt), run.Summary, ts(staleBefore)).Scan(&id, &taken)
	})
	switch {
	case err != nil:
		return 0, err
	case id != 0:
		return id, nil
	case taken == 1:
		return 0, fmt.Errorf("begin job run %s: %w", run.Job, relay.ErrSlotTaken)
	}
	return 0, fmt.Errorf("begin job run %s: %w", run.Job, relay.ErrJobRunning)
}

// UpdateRun implements relay.JobRuns.
func (s *Store) UpdateRun(ctx context.Context, id int64, status string, at time.Time, summary string) error {
	var err error
	if status == relay.RunRunning {
		_, err = s.exec(ctx, "update job run", qRunTouch, id, ts(at))
	} else {
		_, err = s.exec(ctx, "update job run", qRunFinish, id, status, ts(at), summary)
	}
	return err
}

// JobRuns implements relay.JobRuns.
func (s *Store) JobRuns(ctx context.Context, job string, limit int) ([]relay.JobRun, error) {
	if limit <= 0 {
		limit = 1000
	}
	rs, err := s.query(ctx, qJobRuns, job, i32(limit))
	if err != nil {
		return nil, fail("read job runs", err)
	}
	out, err := store.ScanJobRuns(rs, store.Timestamp)
	return out, fail("read job runs", err)
}

// LastSlot implements relay.JobRuns.
func (s *Store) LastSlot(ctx context.Context, job string) (time.Time, error) {
	rs, err := s.query(ctx, qLastSlot, job)
	if err != nil {
		return time.Time{}, fail("read last slot", err)
	}
	defer rs.Close()
	var last sql.NullTime
	if rs.Next() {
		if err := rs.Scan(&last); err != nil {
			return time.Time{}, fail("read last slot", err)
		}
	}
	if err := rs.Err(); err != nil || !last.Valid {
		return time.Time{}, fail("read last slot", err)
	}
	return last.Time.UTC(), nil
}

// Prune implements relay.Housekeeping (sql/prune_*.sql).
func (s *Store) Prune(ctx context.Context, table string, before time.Time, limit int) (int, error) {
	q, ok := map[string]query{relay.PruneJournal: qPruneJournal, relay.PruneDead: qPruneDead, relay.PruneJobRuns: qPruneJobRuns}[table]
	if !ok {
		return 0, fmt.Errorf("prune: no table %q", table)
	}
	res, err := s.exec(ctx, "prune "+table, q, ts(before), i32(limit))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), fail("prune "+table, err)
}

// PruneNodes implements relay.Housekeeping.
func (s *Store) PruneNodes(ctx context.Context, before time.Time) ([]string, error) {
	var gone []string
	err := s.inTx(ctx, "prune nodes", func(tx *sql.Tx) error {
		gone = nil
		rs, err := tx.QueryContext(ctx, s.q.sql(qPruneNodes), ts(before))
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var id string
			if err := rs.Scan(&id); err != nil {
				return err
			}
			gone = append(gone, id)
		}
		return rs.Err()
	})
	return gone, err
}

// JournalBetween implements relay.Housekeeping.
func (s *Store) JournalBetween(ctx context.Context, from, to time.Time, afterID int64, limit int) ([]relay.JournalEntry, error) {
	rs, err := s.query(ctx, qJournalPeriod, ts(from), ts(to), afterID, i32(limit))
	if err != nil {
		return nil, fail("read journal", err)
	}
	out, err := store.ScanJournal(rs, store.Timestamp)
	return out, fail("read journal", err)
}
