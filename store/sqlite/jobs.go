package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/schema"
	"github.com/ctirelay/ctirelay/store"
)

// Statements of the scheduled jobs, rendered per call: jobs run seldom.
const (
	sqlAbandonRuns = `UPDATE {{job_run}} SET status = 'abandoned', finished_at = ?,
       summary = '{"reason":"no heartbeat for three beats: its relay died mid-run"}'
 WHERE job = ? AND status = 'running' AND heartbeat_at < ?`
	// OR IGNORE: a conflict on either unique index (slot, running) inserts
	// nothing; the caller then asks which.
	sqlInsertRun = `INSERT OR IGNORE INTO {{job_run}} (job, slot, manual, node, status, started_at, finished_at, heartbeat_at, summary)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqlSlotTaken  = `SELECT count(*) FROM {{job_run}} WHERE job = ? AND slot = ? AND manual = 0`
	sqlUpdateRun  = `UPDATE {{job_run}} SET heartbeat_at = ? WHERE id = ? AND status = 'running'`
	sqlFinishRun  = `UPDATE {{job_run}} SET status = ?, finished_at = ?, heartbeat_at = ?, summary = ? WHERE id = ? AND status = 'running'`
	sqlJobRuns    = `SELECT id, job, slot, manual, node, status, started_at, finished_at, heartbeat_at, coalesce(summary, '') FROM {{job_run}}`
	sqlLastSlot   = `SELECT coalesce(max(slot), 0) FROM {{job_run}} WHERE job = ? AND manual = 0`
	sqlPruneNodes = `DELETE FROM {{node}} WHERE heartbeat_at < ? RETURNING id`
	// The journal goes from its oldest end: the first rows by id (id order
	// is time order, within the relays' clock skew), of which the old ones
	// are deleted. A batch never reads more than limit rows, however large
	// the table, and stops at the first young row.
	sqlPruneJournal = `DELETE FROM {{journal}} WHERE id IN (
    SELECT id FROM (SELECT id, at FROM {{journal}} ORDER BY id LIMIT ? + 0) WHERE at < ?)`
	sqlPruneDead    = `DELETE FROM {{dead}} WHERE id IN (SELECT id FROM {{dead}} WHERE died_at < ? ORDER BY id LIMIT ? + 0)`
	sqlPruneRuns    = `DELETE FROM {{job_run}} WHERE id IN (SELECT id FROM {{job_run}} WHERE started_at < ? AND status <> 'running' ORDER BY id LIMIT ? + 0)`
	sqlJournalRange = `SELECT id, at, direction, kind, agent, frame, origin, coalesce(source_ref, ''), coalesce(inbox_id, 0),
       coalesce(outcome, ''), coalesce(latency_us, 0), coalesce(error, '')
  FROM {{journal}} WHERE at >= ? AND at < ? AND id > ? ORDER BY id LIMIT ? + 0`
)

func (s *Store) sql(q string) string { return schema.Render(q, s.names) }

// BeginRun implements relay.JobRuns.
func (s *Store) BeginRun(ctx context.Context, run relay.JobRun, staleBefore time.Time) (int64, error) {
	var id int64
	var refused error
	err := s.inTx(ctx, "begin job run", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.sql(sqlAbandonRuns), micros(run.StartedAt), run.Job, micros(staleBefore)); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.sql(sqlInsertRun), run.Job, micros(run.Slot), run.Manual, run.Node, run.Status,
			micros(run.StartedAt), nullMicros(run.FinishedAt), micros(run.HeartbeatAt), run.Summary)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			id, err = res.LastInsertId()
			return err
		}
		var taken int
		if err := tx.QueryRowContext(ctx, s.sql(sqlSlotTaken), run.Job, micros(run.Slot)).Scan(&taken); err != nil {
			return err
		}
		refused = relay.ErrJobRunning
		if taken > 0 && !run.Manual {
			refused = relay.ErrSlotTaken
		}
		return nil // the abandoned runs stay abandoned
	})
	if err == nil && refused != nil {
		return 0, fmt.Errorf("begin job run %s: %w", run.Job, refused)
	}
	return id, err
}

// UpdateRun implements relay.JobRuns.
func (s *Store) UpdateRun(ctx context.Context, id int64, status string, at time.Time, summary string) error {
	var err error
	if status == relay.RunRunning {
		_, err = s.db.ExecContext(ctx, s.sql(sqlUpdateRun), micros(at), id)
	} else {
		_, err = s.db.ExecContext(ctx, s.sql(sqlFinishRun), status, micros(at), micros(at), summary, id)
	}
	if err != nil {
		return fail(ctx, "update job run", err)
	}
	return nil
}

// JobRuns implements relay.JobRuns.
func (s *Store) JobRuns(ctx context.Context, job string, limit int) ([]relay.JobRun, error) {
	q, args := s.sql(sqlJobRuns), []any{}
	if job != "" {
		q, args = q+` WHERE job = ?`, append(args, job)
	}
	q += ` ORDER BY slot DESC, id DESC LIMIT ? + 0`
	rs, err := s.db.QueryContext(ctx, q, append(args, page(limit))...)
	if err != nil {
		return nil, fail(ctx, "read job runs", err)
	}
	out, err := store.ScanJobRuns(rs, store.UnixMicros)
	if err != nil {
		return nil, fail(ctx, "read job runs", err)
	}
	if err := rs.Err(); err != nil {
		return nil, fail(ctx, "read job runs", err)
	}
	return out, nil
}

// LastSlot implements relay.JobRuns.
func (s *Store) LastSlot(ctx context.Context, job string) (time.Time, error) {
	var us int64
	if err := s.db.QueryRowContext(ctx, s.sql(sqlLastSlot), job).Scan(&us); err != nil {
		return time.Time{}, fail(ctx, "read last slot", err)
	}
	if us == 0 {
		return time.Time{}, nil
	}
	return fromMicros(us), nil
}

// Prune implements relay.Housekeeping.
func (s *Store) Prune(ctx context.Context, table string, before time.Time, limit int) (int, error) {
	var q string
	args := []any{micros(before), limit}
	switch table {
	case relay.PruneJournal:
		q, args = sqlPruneJournal, []any{limit, micros(before)}
	case relay.PruneDead:
		q = sqlPruneDead
	case relay.PruneJobRuns:
		q = sqlPruneRuns
	default:
		return 0, fmt.Errorf("prune: no table %q", table)
	}
	res, err := s.db.ExecContext(ctx, s.sql(q), args...)
	if err != nil {
		return 0, fail(ctx, "prune "+table, err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// PruneNodes implements relay.Housekeeping.
func (s *Store) PruneNodes(ctx context.Context, before time.Time) ([]string, error) {
	rs, err := s.db.QueryContext(ctx, s.sql(sqlPruneNodes), micros(before))
	if err != nil {
		return nil, fail(ctx, "prune nodes", err)
	}
	defer rs.Close()
	var gone []string
	for rs.Next() {
		var id string
		if err := rs.Scan(&id); err != nil {
			return nil, fail(ctx, "prune nodes", err)
		}
		gone = append(gone, id)
	}
	return gone, errors.Join(rs.Err())
}

// JournalBetween implements relay.Housekeeping.
func (s *Store) JournalBetween(ctx context.Context, from, to time.Time, afterID int64, limit int) ([]relay.JournalEntry, error) {
	rs, err := s.db.QueryContext(ctx, s.sql(sqlJournalRange), micros(from), micros(to), afterID, page(limit))
	if err != nil {
		return nil, fail(ctx, "read journal", err)
	}
	out, err := store.ScanJournal(rs, store.UnixMicros)
	if err != nil {
		return nil, fail(ctx, "read journal", err)
	}
	return out, nil
}
