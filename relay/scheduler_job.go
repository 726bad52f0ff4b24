package relay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Catch-up policies: what a leader does about slots missed while no relay
// ran the job (all of them are recorded RunMissed but, with CatchUpOnce,
// the latest, which runs).
const (
	CatchUpSkip = "skip"
	CatchUpOnce = "once"
)

// JobFunc is a scheduled job's work. It runs with a context that ends when the
// run must stop (shutdown, or the leader lost its lock) and returns the
// summary stored as JSON in relay_job_run.
type JobFunc func(ctx context.Context, run RunInfo) (map[string]any, error)

// RunInfo tells a job which run it is doing.
type RunInfo struct {
	Job    string
	Slot   time.Time // the scheduled slot, or when a manual run was asked
	Manual bool
	// From and To bound the period a manual run was asked for (zero: the
	// job's default for Slot).
	From, To time.Time
	Location *time.Location // the job's zone
	// Progress, when set, is told how far a long run is (a CLI's bar).
	Progress func(done, total int64)
}

// ScheduledJob is one entry of the jobs configuration.
type ScheduledJob struct {
	Name     string
	Schedule Schedule
	Enabled  bool
	CatchUp  string // CatchUpSkip (default) | CatchUpOnce
	Run      JobFunc
}

// RunStore is what running a job needs of the store.
type RunStore interface {
	JobRuns
}

// Runner executes one run of a job under its relay_job_run row: recorded
// before the work starts (refused when the slot is taken or the job is
// running), its heartbeat refreshed while it runs, finished with status,
// duration and summary. The scheduler's leader and `ctirelay jobs run` use
// it alike, so both follow the same rules.
type Runner struct {
	Store  RunStore
	Owner  string // NODE#INCARNATION
	Clock  Clock
	Logger *slog.Logger
	// Beat is how often a running run's heartbeat is refreshed; a run
	// whose heartbeat is older than 3 Beats is abandoned by the next one.
	Beat time.Duration
}

// DefaultRunBeat is Runner.Beat when zero.
const DefaultRunBeat = 10 * time.Second

func (r Runner) defaults() Runner {
	if r.Clock == nil {
		r.Clock = SystemClock{}
	}
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	if r.Beat <= 0 {
		r.Beat = DefaultRunBeat
	}
	return r
}

// Begin records the run's row; the caller then calls Execute.
func (r Runner) Begin(ctx context.Context, job string, slot time.Time, manual bool) (JobRun, error) {
	r = r.defaults()
	now := r.Clock.Now()
	run := JobRun{Job: job, Slot: slot, Manual: manual, Node: r.Owner, Status: RunRunning, StartedAt: now, HeartbeatAt: now}
	id, err := r.Store.BeginRun(ctx, run, now.Add(-3*r.Beat))
	if err != nil {
		return JobRun{}, err
	}
	run.ID = id
	return run, nil
}

// Miss records a slot nobody ran, with why.
func (r Runner) Miss(ctx context.Context, job string, slot time.Time, reason string) error {
	r = r.defaults()
	now := r.Clock.Now()
	summary, _ := json.Marshal(map[string]string{"reason": reason})
	_, err := r.Store.BeginRun(ctx, JobRun{Job: job, Slot: slot, Node: r.Owner, Status: RunMissed,
		StartedAt: now, FinishedAt: now, HeartbeatAt: now, Summary: string(summary)}, time.Time{})
	if errors.Is(err, ErrSlotTaken) {
		return nil // recorded already, missed or run
	}
	return err
}

// Execute runs job under run's row until it returns or ctx ends, and
// finishes the row: RunOK, RunFailed with the error in the summary, or
// RunInterrupted when ctx ended first.
func (r Runner) Execute(ctx context.Context, run JobRun, job JobFunc, info RunInfo) JobRun {
	r = r.defaults()
	log := r.Logger.With("job", run.Job, "slot", run.Slot, "run", run.ID)
	beatCtx, stopBeat := context.WithCancel(ctx)
	beaten := make(chan struct{})
	go func() {
		defer close(beaten)
		for {
			select {
			case <-beatCtx.Done():
				return
			case <-r.Clock.After(r.Beat):
			}
			if err := r.Store.UpdateRun(beatCtx, run.ID, RunRunning, r.Clock.Now(), ""); err != nil && beatCtx.Err() == nil {
				log.Warn("job run heartbeat", "err", err)
			}
		}
	}()
	log.Info("job started")
	summary, err := safeRun(ctx, job, info)
	stopBeat()
	<-beaten
	if summary == nil {
		summary = map[string]any{}
	}
	run.Status = RunOK
	switch {
	case err != nil && ctx.Err() != nil:
		run.Status = RunInterrupted
		summary["error"] = ctx.Err().Error()
	case err != nil:
		run.Status = RunFailed
		summary["error"] = err.Error()
	}
	raw, jerr := json.Marshal(summary)
	if jerr != nil {
		raw = []byte(fmt.Sprintf(`{"error":%q}`, "summary: "+jerr.Error()))
	}
	run.Summary = string(raw)
	run.FinishedAt = r.Clock.Now()
	// The row is finished even when ctx ended (shutdown): with a fresh
	// context, bounded. A leader cut off from the database cannot: its row
	// stays running until the next run finds its heartbeat stale.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if uerr := r.Store.UpdateRun(fctx, run.ID, run.Status, run.FinishedAt, run.Summary); uerr != nil {
		log.Warn("finish job run", "err", uerr)
	}
	log.Info("job finished", "status", run.Status, "duration", run.Duration(), "summary", run.Summary)
	return run
}

// safeRun keeps a job that panics from taking the relay down: the run
// fails with the panic as its error.
func safeRun(ctx context.Context, job JobFunc, info RunInfo) (summary map[string]any, err error) {
	defer func() {
		if p := recover(); p != nil {
			summary, err = nil, fmt.Errorf("job panicked: %v", p)
		}
	}()
	return job(ctx, info)
}
