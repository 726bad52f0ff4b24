package relay

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// RetentionJob prunes the relay's history tables: each table by its own age
// (zero keeps it for ever), Batch rows per transaction, so no batch holds
// its locks for long and the relay's writers never wait behind a prune.
// With OutboxAge it also expires the T_TTO rows the ERP never read (see
// OutboxExpiry), each journaled as a note.
type RetentionJob struct {
	Name       string // the job's name, for its notes' origin ("retention")
	Store      Housekeeping
	Clock      Clock
	Logger     *slog.Logger
	JournalAge time.Duration // relay_journal rows older than this go
	DeadAge    time.Duration // relay_dead
	RunsAge    time.Duration // relay_job_run (finished runs)
	// OutboxAge, above zero, expires T_TTO rows unread for that long (off
	// by default: T_TTO is the ERP's table).
	OutboxAge time.Duration
	Batch     int // rows per transaction (10000)
	// Pause between batches gives the relay's writers the database (0:
	// none); the run's context still stops it at once.
	Pause time.Duration
}

func (j RetentionJob) log() *slog.Logger {
	if j.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return j.Logger
}

// Run is the job's JobFunc.
func (j RetentionJob) Run(ctx context.Context, _ RunInfo) (map[string]any, error) {
	clock, batch := j.Clock, j.Batch
	if clock == nil {
		clock = SystemClock{}
	}
	if batch <= 0 {
		batch = 10_000
	}
	pause := func() error {
		if j.Pause <= 0 {
			return ctx.Err()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-clock.After(j.Pause):
			return nil
		}
	}
	now := clock.Now()
	summary := map[string]any{}
	for _, t := range []struct {
		table string
		age   time.Duration
	}{{PruneJournal, j.JournalAge}, {PruneDead, j.DeadAge}, {PruneJobRuns, j.RunsAge}} {
		if t.age <= 0 {
			continue
		}
		before := now.Add(-t.age)
		total := 0
		for {
			n, err := j.Store.Prune(ctx, t.table, before, batch)
			total += n
			if err != nil {
				summary[t.table+"_deleted"] = total
				return summary, fmt.Errorf("prune %s: %w", t.table, err)
			}
			if n < batch {
				break
			}
			if err := pause(); err != nil {
				summary[t.table+"_deleted"] = total
				return summary, err
			}
		}
		summary[t.table+"_deleted"] = total
		summary[t.table+"_before"] = before.UTC().Format(time.RFC3339)
	}
	if j.OutboxAge > 0 {
		if err := j.expireOutbox(ctx, now, batch, pause, summary); err != nil {
			return summary, err
		}
	}
	return summary, nil
}
