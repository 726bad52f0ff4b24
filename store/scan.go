package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// TimeColumn says how a dialect's time columns scan: it returns a Scan
// destination that sets *t, in UTC (UnixMicros, Timestamp).
type TimeColumn func(t *time.Time) any

// UnixMicros scans INTEGER microseconds since the Unix epoch (SQLite).
func UnixMicros(t *time.Time) any { return microsDest{t} }

// Timestamp scans a native timestamp (PostgreSQL's timestamptz).
func Timestamp(t *time.Time) any { return timestampDest{t} }

type microsDest struct{ t *time.Time }

func (d microsDest) Scan(src any) error {
	switch v := src.(type) {
	case int64:
		*d.t = time.UnixMicro(v).UTC()
	case nil:
		*d.t = time.Time{}
	default:
		return fmt.Errorf("time column: %T is not microseconds", src)
	}
	return nil
}

type timestampDest struct{ t *time.Time }

func (d timestampDest) Scan(src any) error {
	switch v := src.(type) {
	case time.Time:
		*d.t = v.UTC()
	case nil:
		*d.t = time.Time{}
	default:
		return fmt.Errorf("time column: %T is not a timestamp", src)
	}
	return nil
}

// ScanJobs reads leased rows (id, source, source_ref, agent, verb, frame,
// attempts, enqueued_at) as jobs held by owner, in id order (UPDATE …
// RETURNING promises none), and closes rs.
func ScanJobs(rs *sql.Rows, owner string, at TimeColumn) ([]relay.Job, error) {
	defer rs.Close()
	var jobs []relay.Job
	for rs.Next() {
		j := relay.Job{Owner: owner}
		var verb string
		if err := rs.Scan(&j.ID, &j.Source, &j.Ref, &j.Agent, &verb, &j.Frame, &j.Attempts, at(&j.EnqueuedAt)); err != nil {
			return nil, err
		}
		j.Verb = relay.Verb(verb)
		jobs = append(jobs, j)
	}
	if err := rs.Err(); err != nil {
		return nil, err
	}
	SortJobs(jobs)
	return jobs, nil
}

// SortJobs puts jobs in id order, the order the engine is handed them.
func SortJobs(jobs []relay.Job) {
	slices.SortFunc(jobs, func(a, b relay.Job) int { return cmp.Compare(a.ID, b.ID) })
}

// ScanJournal reads journal rows (id, at, direction, kind, agent, frame,
// origin, source_ref, inbox_id, outcome, latency_us, error; NULLs coalesced
// to zero values by the query) and closes rs.
func ScanJournal(rs *sql.Rows, at TimeColumn) ([]relay.JournalEntry, error) {
	defer rs.Close()
	var out []relay.JournalEntry
	for rs.Next() {
		var e relay.JournalEntry
		var latency int64
		if err := rs.Scan(&e.ID, at(&e.At), &e.Direction, &e.Kind, &e.Agent, &e.Frame, &e.Origin, &e.Ref,
			&e.InboxID, &e.Outcome, &latency, &e.Error); err != nil {
			return nil, err
		}
		e.Latency = time.Duration(latency) * time.Microsecond
		out = append(out, e)
	}
	if err := rs.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// ScanJobRuns reads job runs (id, job, slot, manual, node, status,
// started_at, finished_at, heartbeat_at, summary; a NULL finished_at is the
// zero time) and closes rs.
func ScanJobRuns(rs *sql.Rows, at TimeColumn) ([]relay.JobRun, error) {
	return scanAll(rs, func(r *relay.JobRun) []any {
		return []any{&r.ID, &r.Job, at(&r.Slot), &r.Manual, &r.Node, &r.Status, at(&r.StartedAt), at(&r.FinishedAt),
			at(&r.HeartbeatAt), &r.Summary}
	})
}

// ScanCursors reads cursors (name, position, updated_at) and closes rs.
func ScanCursors(rs *sql.Rows, at TimeColumn) ([]relay.Cursor, error) {
	return scanAll(rs, func(c *relay.Cursor) []any { return []any{&c.Name, &c.Position, at(&c.UpdatedAt)} })
}

// LatestCursors is what an advance of cursors writes: each name once, with
// its largest position (one statement may not change a row twice), in name
// order (two relays never lock rows in opposite orders). UpdatedAt is left
// zero.
func LatestCursors(cursors []relay.Cursor) []relay.Cursor {
	best := map[string]int64{}
	for _, c := range cursors {
		if p, ok := best[c.Name]; !ok || c.Position > p {
			best[c.Name] = c.Position
		}
	}
	out := make([]relay.Cursor, 0, len(best))
	for n, p := range best {
		out = append(out, relay.Cursor{Name: n, Position: p})
	}
	slices.SortFunc(out, func(a, b relay.Cursor) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// AppendIDs appends the id each row of rs holds (its one column) to ids, and
// closes rs.
func AppendIDs(ids []int64, rs *sql.Rows) ([]int64, error) {
	defer rs.Close()
	for rs.Next() {
		var id int64
		if err := rs.Scan(&id); err != nil {
			return ids, err
		}
		ids = append(ids, id)
	}
	return ids, rs.Err()
}

// QueryIDs runs query in tx and appends the ids its rows return to ids
// (AppendIDs).
func QueryIDs(ctx context.Context, tx *sql.Tx, ids []int64, query string, args ...any) ([]int64, error) {
	rs, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return ids, err
	}
	return AppendIDs(ids, rs)
}

// ScanCursor reads one cursor (name, position, updated_at); false when there
// is none.
func ScanCursor(row *sql.Row, at TimeColumn) (relay.Cursor, bool, error) {
	var c relay.Cursor
	err := row.Scan(&c.Name, &c.Position, at(&c.UpdatedAt))
	if errors.Is(err, sql.ErrNoRows) {
		return relay.Cursor{}, false, nil
	}
	if err != nil {
		return relay.Cursor{}, false, err
	}
	return c, true, nil
}

// ScanDeadLetters reads dead letters (id, inbox_id, source, source_ref,
// agent, verb, frame, code, reason, attempts, enqueued_at, died_at; NULLs
// coalesced by the query) and closes rs.
func ScanDeadLetters(rs *sql.Rows, at TimeColumn) ([]relay.DeadLetter, error) {
	return scanAll(rs, func(d *relay.DeadLetter) []any {
		return []any{&d.ID, &d.InboxID, &d.Source, &d.Ref, &d.Agent, &d.Verb, &d.Frame, &d.Code, &d.Reason, &d.Attempts,
			at(&d.EnqueuedAt), at(&d.DiedAt)}
	})
}

// ScanLeaseHolders reads who holds leases (owner, commands, latest
// lease_expires) and closes rs.
func ScanLeaseHolders(rs *sql.Rows, at TimeColumn) ([]relay.LeaseHolding, error) {
	return scanAll(rs, func(h *relay.LeaseHolding) []any { return []any{&h.Owner, &h.Commands, at(&h.Expires)} })
}

// ScanExpiredOutputs reads deleted T_TTO rows (IS_TTO, DS_TTO) in IS_TTO
// order (DELETE … RETURNING or OUTPUT promises none) and closes rs.
func ScanExpiredOutputs(rs *sql.Rows) ([]relay.ExpiredOutput, error) {
	out, err := scanAll(rs, func(o *relay.ExpiredOutput) []any { return []any{&o.ID, &o.Frame} })
	slices.SortFunc(out, func(a, b relay.ExpiredOutput) int { return cmp.Compare(a.ID, b.ID) })
	return out, err
}

// scanAll reads every row of rs into a T through the destinations fields
// gives of it, and closes rs.
func scanAll[T any](rs *sql.Rows, fields func(*T) []any) ([]T, error) {
	defer rs.Close()
	var out []T
	for rs.Next() {
		var v T
		if err := rs.Scan(fields(&v)...); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rs.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// ScanNodes reads nodes (id, host, pid, version, started_at, heartbeat_at,
// holds as JoinHolds wrote them) and closes rs.
func ScanNodes(rs *sql.Rows, at TimeColumn) ([]relay.Node, error) {
	type row struct {
		relay.Node
		holds string
	}
	rows, err := scanAll(rs, func(r *row) []any {
		return []any{&r.ID, &r.Host, &r.PID, &r.Version, at(&r.StartedAt), at(&r.HeartbeatAt), &r.holds}
	})
	if err != nil || rows == nil {
		return nil, err
	}
	out := make([]relay.Node, len(rows))
	for i, r := range rows {
		out[i] = r.Node
		out[i].Holds = SplitHolds(r.holds)
	}
	return out, nil
}

// Querier runs a statement that returns rows: *sql.Tx, *sql.DB, *sql.Conn.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// EachRow runs query on q and calls row for each row it returns (rs is on
// it, to Scan), then closes the rows.
func EachRow(ctx context.Context, q Querier, query string, args []any, row func(rs *sql.Rows) error) error {
	rs, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
		if err := row(rs); err != nil {
			return err
		}
	}
	return rs.Err()
}

// Args are vs as statement arguments.
func Args[T any](vs []T) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}
