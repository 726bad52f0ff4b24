package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
)

// A retention run that takes long (one journal row a batch, a second
// apart), every 2 seconds, so the leader is killed in the middle of a run.
const pgJobsConfig = `
bridges:
  socket:
    listen: ""
scheduler:
  run_beat: 1s
  lock_retry: 1s
jobs:
  retention:
    enabled: true
    schedule: "@every 2s"
    journal_age: 1s
    batch: 1
    pause: 1s
`

// Two relays on PostgreSQL; the leader is killed with SIGKILL in the middle
// of a run: the other takes over within seconds, the killed run is found
// abandoned, the slots it could not run are recorded missed, and no slot
// is ever recorded twice.
func TestE2EPostgresLeaderKilledMidRun(t *testing.T) {
	r := newPGRig(t, pgJobsConfig)
	for i := range 30 {
		if _, err := r.db.Exec(`INSERT INTO T_TTI (DS_TTI) VALUES ($1)`, fmt.Sprintf("<agent%02d><S>$", i)); err != nil {
			t.Fatal(err)
		}
	}
	relays := r.relays(1)
	wait.Within(t, time.Minute, "relay-0 running a retention run", func() bool {
		return count(t, r.db, `SELECT count(*) FROM relay_job_run WHERE node LIKE 'relay-0#%' AND status = 'running'
		   AND started_at < now() - interval '1 second'`) == 1
	})
	relays = append(relays, startRelay(t, r.dir, "--db", r.dsn, "--config", r.cfg, "--node", "relay-1")) // a follower
	leader := r.leader()
	if leader != "relay-0" {
		t.Fatalf("leader %q, want relay-0", leader)
	}
	killed := time.Now()
	relays[0].kill()
	wait.Within(t, 30*time.Second, "relay-1 running the job", func() bool {
		return count(t, r.db, `SELECT count(*) FROM relay_job_run WHERE node LIKE 'relay-1#%' AND status IN ('running', 'ok')`) >= 1
	})
	took := time.Since(killed)
	wait.Within(t, 30*time.Second, "relay-1 shown as the leader", func() bool { return r.leader() == "relay-1" })
	if n := count(t, r.db, `SELECT count(*) FROM relay_job_run WHERE node LIKE 'relay-0#%' AND status = 'abandoned'`); n != 1 {
		t.Fatalf("%d abandoned runs of relay-0, want its killed one", n)
	}
	if n := count(t, r.db, `SELECT count(*) FROM relay_job_run WHERE node LIKE 'relay-1#%' AND status = 'missed'`); n == 0 {
		t.Fatal("no slot recorded missed while the killed run still looked alive")
	}
	if dup := count(t, r.db, `SELECT count(*) FROM (SELECT job, slot FROM relay_job_run WHERE NOT manual
	    GROUP BY job, slot HAVING count(*) > 1) d`); dup != 0 {
		t.Fatalf("%d slots recorded twice", dup)
	}
	out, errOut, code := ctl(t, r.dir, "jobs", "list", "--db", r.dsn, "--config", r.cfg)
	if code != 0 || !strings.Contains(out, "leader  relay-1") || !strings.Contains(out, "retention") {
		t.Fatalf("jobs list: %d\n%s\n%s", code, out, errOut)
	}
	// A manual run while relay-1's run goes on: refused (no overlap).
	if _, errOut, code := ctl(t, r.dir, "jobs", "run", "retention", "--db", r.dsn, "--config", r.cfg); code == 0 ||
		!strings.Contains(errOut, "is running now") {
		t.Fatalf("jobs run beside a running run: %d %s", code, errOut)
	}
	t.Logf("relay-1 ran the job %v after relay-0 was killed", took.Round(time.Millisecond))
	relays[1].stop()
	if n := count(t, r.db, `SELECT count(*) FROM relay_job_run WHERE status = 'running'`); n != 0 {
		t.Fatalf("%d runs still running after a clean stop, want the last interrupted", n)
	}
}

// leader is the relay `status --json` shows as the leader ("" for none).
func (r *pgRig) leader() string {
	r.t.Helper()
	out, errOut, code := ctl(r.t, r.dir, "status", "--json", "--db", r.dsn, "--config", r.cfg)
	if code != 0 {
		r.t.Fatalf("status: %d %s", code, errOut)
	}
	var st struct {
		Nodes []relayRow `json:"nodes"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		r.t.Fatal(err)
	}
	for _, n := range st.Nodes {
		if n.Leader {
			return n.ID
		}
	}
	return ""
}
