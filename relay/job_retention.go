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
type RetentionJob struct {
	Store      Housekeeping
	Clock      Clock
	Logger     *slog.Logger
	JournalAge time.Duration // relay_journal rows older than this go
	DeadAge    time.Duration // relay_dead
	RunsAge    time.Duration // relay_job_run (finished runs)
	Batch      int           // rows per transaction (10000)
	// Pause between batches gives the relay's writers the database (0:
	// none); the run's context still stops it at once.
	Pause time.Duration
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
			if j.Pause > 0 {
				select {
				case <-ctx.Done():
					summary[t.table+"_deleted"] = total
					return summary, ctx.Err()
				case <-clock.After(j.Pause):
				}
			}
		}
		summary[t.table+"_deleted"] = total
		summary[t.table+"_before"] = before.UTC().Format(time.RFC3339)
	}
	return summary, nil
}
