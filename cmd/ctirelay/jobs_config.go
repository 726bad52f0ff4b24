package main

import (
	"fmt"
	"log/slog"
	"time"
	_ "time/tzdata" // zones resolve on Windows and minimal hosts

	"github.com/ctirelay/ctirelay/relay"
)

// SchedulerSettings tunes leadership and relay_node housekeeping.
type SchedulerSettings struct {
	// PruneNodesAfter: the leader removes the relay_node rows of relays
	// silent this long (24h; 0s keeps them).
	PruneNodesAfter *Duration `yaml:"prune_nodes_after"`
	// LockRetry is how often a follower tries to become leader (1s).
	LockRetry Duration `yaml:"lock_retry"`
	// RunBeat is how often a running job's row is refreshed (10s); a row
	// silent for three is abandoned by the next run.
	RunBeat Duration `yaml:"run_beat"`
}

// JobsConfig is `jobs:`, one key per job.
type JobsConfig struct {
	Retention RetentionJobConfig `yaml:"retention"`
	Reconcile ReconcileJobConfig `yaml:"reconcile"`
	DeadRetry DeadRetryJobConfig `yaml:"dead-retry"`
	AgentSync AgentSyncJobConfig `yaml:"agent-sync"`
}

// JobCommon are the keys every job has.
type JobCommon struct {
	Schedule string `yaml:"schedule"` // cron (5 fields, or 6 with seconds) or @every 5m
	Timezone string `yaml:"timezone"` // IANA zone; the host's when empty
	Enabled  bool   `yaml:"enabled"`
	CatchUp  string `yaml:"catch_up"` // skip | once
}

// RetentionJobConfig is jobs.retention.
type RetentionJobConfig struct {
	JobCommon  `yaml:",inline"`
	JournalAge Duration `yaml:"journal_age"` // 0s keeps the table
	DeadAge    Duration `yaml:"dead_age"`
	JobRunAge  Duration `yaml:"job_run_age"`
	// TTOAge, above zero, expires T_TTO rows the ERP has not read for that
	// long, each journaled (0s, the default, never touches T_TTO).
	TTOAge Duration `yaml:"tto_age"`
	Batch  int      `yaml:"batch"` // rows per transaction (10000)
	Pause  Duration `yaml:"pause"` // between batches
}

// ReconcileJobConfig is jobs.reconcile.
type ReconcileJobConfig struct {
	JobCommon  `yaml:",inline"`
	Dir        string   `yaml:"dir"`         // where the CSV files go
	ReplyGrace Duration `yaml:"reply_grace"` // a reply this late still counts (1m)
}

// DeadRetryJobConfig is jobs.dead-retry.
type DeadRetryJobConfig struct {
	JobCommon        `yaml:",inline"`
	RetriableReasons []string `yaml:"retriable_reasons"` // reason codes: retries-exhausted, in-doubt ...
	MaxPerRun        int      `yaml:"max_per_run"`       // 100
}

// AgentSyncJobConfig is jobs.agent-sync.
type AgentSyncJobConfig struct {
	JobCommon `yaml:",inline"`
	ReplyWait Duration `yaml:"reply_wait"` // for the switch's answers (30s)
}

// Job names, as in the configuration and relay_job_run.job.
const (
	jobRetention = "retention"
	jobReconcile = "reconcile"
	jobDeadRetry = "dead-retry"
	jobAgentSync = "agent-sync"
)

// defaultJobs are the schedules used when a job sets none.
func defaultJobs() JobsConfig {
	return JobsConfig{
		Retention: RetentionJobConfig{JobCommon: JobCommon{Schedule: "0 3 * * *", CatchUp: relay.CatchUpSkip},
			JournalAge: Duration(30 * 24 * time.Hour), DeadAge: Duration(90 * 24 * time.Hour), JobRunAge: Duration(90 * 24 * time.Hour)},
		Reconcile: ReconcileJobConfig{JobCommon: JobCommon{Schedule: "30 0 * * *", CatchUp: relay.CatchUpOnce}},
		DeadRetry: DeadRetryJobConfig{JobCommon: JobCommon{Schedule: "*/15 * * * *", CatchUp: relay.CatchUpSkip}},
		AgentSync: AgentSyncJobConfig{JobCommon: JobCommon{Schedule: "*/10 * * * *", CatchUp: relay.CatchUpSkip}},
	}
}

// schedule parses a job's schedule in its zone, naming the key at fault.
func (j JobCommon) schedule(name string) (relay.Schedule, error) {
	loc := time.Local
	if j.Timezone != "" {
		l, err := time.LoadLocation(j.Timezone)
		if err != nil {
			return relay.Schedule{}, fmt.Errorf("jobs.%s.timezone: unknown zone %q", name, j.Timezone)
		}
		loc = l
	}
	s, err := relay.ParseSchedule(j.Schedule, loc)
	if err != nil {
		return relay.Schedule{}, fmt.Errorf("jobs.%s.schedule: %v", name, err)
	}
	return s, nil
}

// validate checks the jobs section, naming each key at fault.
func (c JobsConfig) validate(bad func(key, format string, a ...any)) {
	for _, j := range []struct {
		name string
		c    JobCommon
	}{{jobRetention, c.Retention.JobCommon}, {jobReconcile, c.Reconcile.JobCommon},
		{jobDeadRetry, c.DeadRetry.JobCommon}, {jobAgentSync, c.AgentSync.JobCommon}} {
		if _, err := j.c.schedule(j.name); err != nil {
			bad("jobs", "%v", err)
		}
		switch j.c.CatchUp {
		case "", relay.CatchUpSkip, relay.CatchUpOnce:
		default:
			bad("jobs."+j.name+".catch_up", "must be skip or once, not %q", j.c.CatchUp)
		}
	}
	if c.Retention.Batch < 0 {
		bad("jobs.retention.batch", "must not be negative")
	}
	if c.Reconcile.Enabled && c.Reconcile.Dir == "" {
		bad("jobs.reconcile.dir", "required when the job is enabled (the directory the CSV reports go to)")
	}
	if c.DeadRetry.Enabled && len(c.DeadRetry.RetriableReasons) == 0 {
		bad("jobs.dead-retry.retriable_reasons", "required when the job is enabled (e.g. [retries-exhausted])")
	}
	if c.DeadRetry.MaxPerRun < 0 {
		bad("jobs.dead-retry.max_per_run", "must not be negative")
	}
}

// jobStore is what the jobs need of the database.
type jobStore interface {
	relay.ReconcileStore
	relay.Housekeeping
	relay.AgentSyncStore
	relay.Notebook
}

// retentionJob is jobs.retention as the relay runs it.
func (c Config) retentionJob(db jobStore, clock relay.Clock, log *slog.Logger) relay.RetentionJob {
	r := c.Jobs.Retention
	return relay.RetentionJob{Name: jobRetention, Store: db, Clock: clock, Logger: log,
		JournalAge: time.Duration(r.JournalAge), DeadAge: time.Duration(r.DeadAge), RunsAge: time.Duration(r.JobRunAge),
		OutboxAge: time.Duration(r.TTOAge), Batch: r.Batch, Pause: time.Duration(r.Pause)}
}

// chores are the leader's minute work: the T_TTO marks while retention
// expires T_TTO rows (the marks are how old a row is: docs/jobs.md).
func (c Config) chores(db jobStore, clock relay.Clock, log *slog.Logger) []relay.Chore {
	if !c.Jobs.Retention.Enabled || c.Jobs.Retention.TTOAge <= 0 {
		return nil
	}
	return []relay.Chore{{Name: "mark T_TTO", Every: time.Minute, Run: c.retentionJob(db, clock, log).MarkOutbox}}
}

// scheduledJobs builds the configured jobs (disabled ones too: `jobs
// list` shows them; the scheduler runs only the enabled).
func (c Config) scheduledJobs(db jobStore, clock relay.Clock, log *slog.Logger) ([]relay.ScheduledJob, error) {
	j := c.Jobs
	type entry struct {
		name string
		c    JobCommon
		run  relay.JobFunc
	}
	entries := []entry{
		{jobRetention, j.Retention.JobCommon, c.retentionJob(db, clock, log).Run},
		{jobReconcile, j.Reconcile.JobCommon, relay.ReconcileJob{Store: db, Dir: j.Reconcile.Dir, Logger: log,
			ReplyGrace: time.Duration(j.Reconcile.ReplyGrace)}.Run},
		{jobDeadRetry, j.DeadRetry.JobCommon, relay.DeadRetryJob{Name: jobDeadRetry, Store: db, Notes: db, Clock: clock, Logger: log,
			Reasons: j.DeadRetry.RetriableReasons, Max: j.DeadRetry.MaxPerRun}.Run},
		{jobAgentSync, j.AgentSync.JobCommon, relay.AgentSyncJob{Name: jobAgentSync, Store: db, Notes: db, Clock: clock, Logger: log,
			Wait: time.Duration(j.AgentSync.ReplyWait), MaxFrame: c.Engine.MaxFrameBytes}.Run},
	}
	var out []relay.ScheduledJob
	for _, e := range entries {
		s, err := e.c.schedule(e.name)
		if err != nil {
			return nil, err
		}
		out = append(out, relay.ScheduledJob{Name: e.name, Schedule: s, Enabled: e.c.Enabled, CatchUp: e.c.CatchUp, Run: e.run})
	}
	return out, nil
}

// pruneNodesAfter is scheduler.prune_nodes_after (24h when unset).
func (s SchedulerSettings) pruneNodesAfter() time.Duration {
	if s.PruneNodesAfter == nil {
		return 24 * time.Hour
	}
	return time.Duration(*s.PruneNodesAfter)
}

// validateJobs checks the jobs section, and what it needs of the rest.
func (c Config) validateJobs(bad func(key, format string, a ...any)) {
	c.Jobs.validate(bad)
	if c.Jobs.Retention.TTOAge > 0 && c.Database.ExplicitIDs {
		bad("jobs.retention.tto_age", "not with database.explicit_ids: the relay numbers T_TTO after its largest row, so a new row can take an id the ERP freed and look as old as it")
	}
}
