package relay

import (
	"context"
	"errors"
	"time"
)

// Statuses of a row of relay_job_run.
const (
	RunRunning     = "running"     // started, not finished
	RunOK          = "ok"          // finished without error
	RunFailed      = "failed"      // finished with an error (in the summary)
	RunMissed      = "missed"      // a slot nobody ran: no leader, or the previous run still going
	RunAbandoned   = "abandoned"   // its runner died mid-run (no heartbeat): found by the next run
	RunInterrupted = "interrupted" // its runner stopped it: shutdown, or leadership lost
)

// AbandonedSummary is the summary BeginRun gives the runs it abandons.
const AbandonedSummary = `{"reason":"no heartbeat for three beats: its relay died mid-run"}`

// ErrSlotTaken is returned by BeginRun when the (job, slot) already has a
// row: another leader ran it or recorded it missed. The slot is done.
var ErrSlotTaken = errors.New("slot already recorded")

// ErrJobRunning is returned by BeginRun when a run of the job is still
// running (its heartbeat is fresh): runs of one job never overlap.
var ErrJobRunning = errors.New("job already running")

// JobRun is one row of relay_job_run.
type JobRun struct {
	ID   int64
	Job  string
	Slot time.Time // the scheduled time; for a manual run, when it was asked
	// Manual runs (ctirelay jobs run) are not scheduled slots: they never
	// take a slot from the schedule.
	Manual      bool
	Node        string // the runner's lease owner, NODE#INCARNATION
	Status      string
	StartedAt   time.Time
	FinishedAt  time.Time // zero while running
	HeartbeatAt time.Time // refreshed by the runner while running
	Summary     string    // JSON
}

// Duration is how long the run took (zero while running).
func (r JobRun) Duration() time.Duration {
	if r.FinishedAt.IsZero() {
		return 0
	}
	return r.FinishedAt.Sub(r.StartedAt)
}

// JobRuns is relay_job_run: the history of scheduled jobs, and the guard
// that a slot runs once and a job's runs never overlap, whichever relay
// leads.
type JobRuns interface {
	// BeginRun records run (Status RunRunning, or RunMissed for a slot
	// recorded as missed) before the work starts, and returns its id. In
	// the same transaction, runs of the job still running whose heartbeat
	// is before staleBefore are marked RunAbandoned (their runner died),
	// finished at run.StartedAt with AbandonedSummary.
	// ErrSlotTaken: a scheduled run.Slot of run.Job already has a row.
	// ErrJobRunning: a run of the job is still running (RunMissed rows are
	// recorded all the same).
	BeginRun(ctx context.Context, run JobRun, staleBefore time.Time) (int64, error)
	// UpdateRun refreshes a running run's heartbeat at `at` (status
	// RunRunning) or finishes it with status, finished_at = at and
	// summary. A run already finished is left alone.
	UpdateRun(ctx context.Context, id int64, status string, at time.Time, summary string) error
	// JobRuns lists the runs of job (every job when ""), newest slot first,
	// at most limit.
	JobRuns(ctx context.Context, job string, limit int) ([]JobRun, error)
	// LastSlot is the latest scheduled (not manual) slot recorded for job,
	// zero when none.
	LastSlot(ctx context.Context, job string) (time.Time, error)
}

// Tables the retention job prunes.
const (
	PruneJournal = "journal"
	PruneDead    = "dead"
	PruneJobRuns = "job_run"
)

// Housekeeping is what the scheduled jobs need beside the queue: bounded
// deletes of old rows, dead relays' rows, the journal by time.
type Housekeeping interface {
	// Prune deletes at most limit rows of table (PruneJournal by at,
	// PruneDead by died_at, PruneJobRuns by started_at, finished runs
	// only) older than before, the oldest first, in one short transaction,
	// and returns how many went. The caller loops until fewer than limit.
	// The journal goes from its first id and stops at the first row not
	// older than before: ids follow time (within the relays' clock skew),
	// and so a batch reads at most limit rows of any size of journal.
	Prune(ctx context.Context, table string, before time.Time, limit int) (int, error)
	// PruneNodes removes the relay_node rows whose heartbeat is before
	// `before` (relays that died without leaving) and returns their ids.
	PruneNodes(ctx context.Context, before time.Time) ([]string, error)
	// JournalBetween returns entries with from <= at < to and id > afterID,
	// in id order, at most limit: a period read a page at a time.
	JournalBetween(ctx context.Context, from, to time.Time, afterID int64, limit int) ([]JournalEntry, error)
	OutboxExpiry
	LeaseHolders
}
