package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
)

// Every job enabled, none due while the test runs (1 January, 03:00): the
// jobs are run by hand, as a DBA would; the relay's leader keeps the T_TTO
// marks.
const pgJobsNotesConfig = `
bridges:
  socket:
    listen: ""
scheduler:
  lock_retry: 1s
jobs:
  retention:
    enabled: true
    schedule: "0 3 1 1 *"
    journal_age: 0s
    dead_age: 0s
    job_run_age: 0s
    tto_age: 2s
  dead-retry:
    enabled: true
    schedule: "0 3 1 1 *"
    retriable_reasons: [retries-exhausted]
  agent-sync:
    enabled: true
    schedule: "0 3 1 1 *"
    reply_wait: 20s
`

// The jobs journal what they do, on PostgreSQL from the binary: agent-sync
// each agent whose state changed behind the relay, dead-retry each letter
// it re-enqueued, retention each T_TTO row it expired (by the marks the
// leader records), all as notes of the journal.
func TestE2EPostgresJobsJournalTheirNotes(t *testing.T) {
	r := newPGRig(t, pgJobsNotesConfig)
	relays := r.relays(1)
	erp := func(frames ...string) {
		t.Helper()
		for _, f := range frames {
			if _, err := r.db.Exec(`INSERT INTO T_TTI (DS_TTI) VALUES ($1)`, f); err != nil {
				t.Fatal(err)
			}
		}
	}
	notes := func(origin, what string) int {
		return count(t, r.db, `SELECT count(*) FROM relay_journal WHERE kind = 'note' AND direction = 'out'
		    AND origin = '`+origin+`' AND source_ref = '`+what+`'`)
	}
	run := func(job string) map[string]any {
		t.Helper()
		out, errOut, code := ctl(t, r.dir, "jobs", "run", job, "--json", "--db", r.dsn, "--config", r.cfg)
		var res struct {
			Status  string         `json:"status"`
			Summary map[string]any `json:"summary"`
		}
		if code != 0 || json.Unmarshal([]byte(out), &res) != nil || res.Status != "ok" {
			t.Fatalf("jobs run %s: %d\n%s\n%s", job, code, out, errOut)
		}
		return res.Summary
	}
	tto := func() int { return count(t, r.db, `SELECT count(*) FROM T_TTO`) }

	// Leading before T_TTO has a row: its first mark finds nothing to mark.
	wait.Within(t, 30*time.Second, "relay-0 leading", func() bool { return r.leader() == "relay-0" })
	erp("<jose><L><ON>$", "<ana><L><ON>$")
	wait.Within(t, 30*time.Second, "both logged on", func() bool { return tto() == 2 })
	run("agent-sync")
	erp("<jose><L><OFF>$")
	wait.Within(t, 30*time.Second, "jose logged off", func() bool { return tto() == 3 })
	if s := run("agent-sync"); !strings.Contains(jsonText(t, s["changes"]), `"agent":"jose"`) {
		t.Fatalf("agent-sync changes %v", s["changes"])
	}
	if n := notes("job:agent-sync", "state-differs"); n != 1 {
		t.Fatalf("%d state-differs notes, want jose's", n)
	}
	if agents := column(t, r.db, `SELECT agent FROM relay_journal WHERE kind = 'note' AND source_ref = 'state-differs'`); len(agents) != 1 || agents[0] != "jose" {
		t.Fatalf("state-differs note for %v", agents)
	}

	// A dead letter as a relay leaves one after its retries.
	if _, err := r.db.Exec(`INSERT INTO relay_dead (inbox_id, source, source_ref, agent, verb, frame, code, reason, attempts, enqueued_at, died_at)
	    VALUES (999, 'erp', '1', 'ana', 'S', '<ana><S>$', 'RETRIES_EXHAUSTED', 'retries-exhausted: timeout', 5, now(), now())`); err != nil {
		t.Fatal(err)
	}
	if s := run("dead-retry"); s["retried"] != float64(1) {
		t.Fatalf("dead-retry summary %v", s)
	}
	if n := notes("job:dead-retry", "dead-retried"); n != 1 {
		t.Fatalf("%d dead-retried notes, want 1", n)
	}
	wait.Within(t, 30*time.Second, "the retried S answered", func() bool { return tto() == 4 })

	// T_TTO: nothing is old enough until a mark covers the rows; the
	// leader marks when it starts leading, then every minute.
	if s := run("retention"); s["tto_expired"] != float64(0) || tto() != 4 {
		t.Fatalf("retention before any mark: %v, %d rows left", s, tto())
	}
	relays[0].stop()
	relays[0] = startRelay(t, r.dir, "--db", r.dsn, "--config", r.cfg, "--node", "relay-0")
	wait.Within(t, 30*time.Second, "the leader's mark", func() bool {
		return count(t, r.db, `SELECT count(*) FROM relay_tto_mark WHERE tto_id = (SELECT max(IS_TTO) FROM T_TTO)`) == 1
	})
	time.Sleep(2 * time.Second) // tto_age: the rows must be older than the mark by 2s
	if s := run("retention"); s["tto_expired"] != float64(4) || tto() != 0 {
		t.Fatalf("retention: %v, %d rows left", s, tto())
	}
	if n := notes("job:retention", "tto-expired"); n != 4 {
		t.Fatalf("%d tto-expired notes, want 4", n)
	}
	texts := column(t, r.db, `SELECT frame FROM relay_journal WHERE kind = 'note' AND source_ref = 'tto-expired' ORDER BY id`)
	if !strings.HasSuffix(texts[3], ": <ana><S><1>$") || !strings.Contains(texts[0], "unread for more than 2s, deleted: <") {
		t.Fatalf("tto-expired notes %q", texts)
	}
	// A DBA reading the journal sees them beside the messages.
	out, errOut, code := ctl(t, r.dir, "tail", "-f=false", "--from", "0", "--agent", "jose", "--db", r.dsn, "--config", r.cfg)
	if code != 0 || !strings.Contains(out, "state-differs") || !strings.Contains(out, "tto-expired") {
		t.Fatalf("tail: %d\n%s\n%s", code, out, errOut)
	}
	t.Logf("tail --agent jose:\n%s", out)
}

func jsonText(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
