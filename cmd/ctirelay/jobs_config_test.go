package main

import (
	"strings"
	"testing"
	"time"
)

func TestJobsConfigReadsEveryKey(t *testing.T) {
	t.Parallel()
	cfg, err := LoadConfig(writeConfig(t, `
scheduler:
  prune_nodes_after: 48h
  lock_retry: 2s
  run_beat: 5s
jobs:
  retention:
    enabled: true
    schedule: "0 0 4 * * *"
    timezone: America/Sao_Paulo
    journal_age: 240h
    dead_age: 720h
    job_run_age: 2160h
    tto_age: 168h
    batch: 5000
    pause: 50ms
  reconcile:
    enabled: true
    dir: /var/lib/ctirelay/reports
    catch_up: once
    reply_grace: 2m
  dead-retry:
    enabled: true
    schedule: "@every 5m"
    retriable_reasons: [retries-exhausted]
    max_per_run: 20
  agent-sync:
    reply_wait: 10s
`))
	if err != nil {
		t.Fatal(err)
	}
	j := cfg.Jobs
	if !j.Retention.Enabled || j.Retention.Schedule != "0 0 4 * * *" || j.Retention.Timezone != "America/Sao_Paulo" ||
		time.Duration(j.Retention.JournalAge) != 240*time.Hour || time.Duration(j.Retention.TTOAge) != 168*time.Hour || j.Retention.Batch != 5000 || time.Duration(j.Retention.Pause) != 50*time.Millisecond ||
		j.Reconcile.Dir != "/var/lib/ctirelay/reports" || j.Reconcile.Schedule != "30 0 * * *" || j.Reconcile.CatchUp != "once" ||
		j.DeadRetry.RetriableReasons[0] != "retries-exhausted" || j.DeadRetry.MaxPerRun != 20 ||
		j.AgentSync.Enabled || time.Duration(j.AgentSync.ReplyWait) != 10*time.Second ||
		cfg.Scheduler.pruneNodesAfter() != 48*time.Hour || time.Duration(cfg.Scheduler.LockRetry) != 2*time.Second {
		t.Fatalf("jobs = %+v, scheduler = %+v", j, cfg.Scheduler)
	}
	jobs, err := cfg.scheduledJobs(nil, nil, nil)
	if err != nil || len(jobs) != 4 || jobs[0].Schedule.Location().String() != "America/Sao_Paulo" {
		t.Fatalf("scheduledJobs: %+v, %v", jobs, err)
	}
	if chores := cfg.chores(nil, nil, nil); len(chores) != 1 || chores[0].Every != time.Minute {
		t.Fatalf("chores with tto_age: %+v, want the T_TTO marks every minute", chores)
	}
	d, _ := LoadConfig("")
	if d.Scheduler.pruneNodesAfter() != 24*time.Hour || d.Jobs.Retention.Enabled || d.Jobs.Retention.TTOAge != 0 {
		t.Fatal("defaults: prune after 24h, every job off, T_TTO never expired")
	}
	if chores := d.chores(nil, nil, nil); len(chores) != 0 {
		t.Fatalf("chores by default: %+v", chores)
	}
}

func TestJobsConfigErrorsNameTheKey(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ body, want string }{
		{"jobs:\n  retention:\n    schedule: TZ=0\n", "jobs.retention.schedule: malformed"},
		{"jobs:\n  reconcile:\n    schedule: \"61 * * * *\"\n", "jobs.reconcile.schedule:"},
		{"jobs:\n  agent-sync:\n    timezone: Mars/Olympus\n", "jobs.agent-sync.timezone: unknown zone"},
		{"jobs:\n  dead-retry:\n    catch_up: always\n", "jobs.dead-retry.catch_up: must be skip or once"},
		{"jobs:\n  reconcile:\n    enabled: true\n", "jobs.reconcile.dir: required"},
		{"jobs:\n  dead-retry:\n    enabled: true\n", "jobs.dead-retry.retriable_reasons: required"},
		{"jobs:\n  retention:\n    keep: 5\n", `unknown key "keep" in jobs.retention`},
		{"jobs:\n  cleanup:\n    enabled: true\n", `unknown key "cleanup" in jobs`},
		{"database:\n  explicit_ids: true\njobs:\n  retention:\n    tto_age: 24h\n", "jobs.retention.tto_age: not with database.explicit_ids"},
	} {
		_, err := LoadConfig(writeConfig(t, c.body))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.body, err, c.want)
		}
	}
}
