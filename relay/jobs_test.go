package relay_test

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store/memstore"
)

func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files from the current behaviour")
	}
}

func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

var jobDay = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

// journalRig builds a fixed journal through the store's own calls.
type journalRig struct {
	t  *testing.T
	st *memstore.Store
}

func (r journalRig) command(at time.Time, frame string) int64 {
	r.t.Helper()
	q, err := r.st.Enqueue(context.Background(), []relay.Inbound{{Source: relay.SourceCLI, Ref: "t", Raw: frame}}, at, 0)
	if err != nil || len(q) != 1 || q[0].ID == 0 {
		r.t.Fatalf("enqueue %s: %+v %v", frame, q, err)
	}
	return q[0].ID
}

// settle takes the agent's head command at `at` and settles it.
func (r journalRig) settle(at time.Time, kind relay.OutcomeKind, reason string, replies ...relay.Frame) {
	r.t.Helper()
	jobs, err := r.st.Claim(context.Background(), relay.ClaimRequest{Owner: "n#1", Limit: 1, Now: at, LeaseUntil: at.Add(time.Minute)})
	if err != nil || len(jobs) != 1 {
		r.t.Fatalf("claim: %+v %v", jobs, err)
	}
	if _, _, err := r.st.Settle(context.Background(), []relay.Outcome{{Job: jobs[0], Kind: kind, Reason: reason, Replies: replies}}, at, relay.ClaimRequest{}); err != nil {
		r.t.Fatal(err)
	}
}

func (r journalRig) event(at time.Time, f relay.Frame) {
	r.t.Helper()
	if err := r.st.Publish(context.Background(), []relay.Frame{f}, at); err != nil {
		r.t.Fatal(err)
	}
}

// fixedJournal: the day of 2025-06-01 (UTC) for two agents, and rows the
// day before and after that the report must leave out.
func fixedJournal(t *testing.T) *memstore.Store {
	st := memstore.New()
	r := journalRig{t, st}
	h := func(hh, mm int, ms int) time.Time {
		return jobDay.Add(time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute + time.Duration(ms)*time.Millisecond)
	}
	// The day before: out of the period.
	r.command(jobDay.Add(-time.Hour), "<ana><S>$")
	r.settle(jobDay.Add(-time.Hour+time.Second), relay.Done, "", relay.StatusReply("ana", relay.StateAvailable))
	// ana: logs on, asks her state, dials (answered, call ends), a second
	// dial in doubt; a receptive call with no EndCall.
	r.command(h(8, 0, 0), "<ana><L><ON>$")
	r.settle(h(8, 0, 40), relay.Done, "", relay.OK("ana"))
	r.command(h(8, 1, 0), "<ana><S>$")
	r.settle(h(8, 1, 12), relay.Done, "", relay.StatusReply("ana", relay.StateAvailable))
	r.command(h(9, 0, 0), "<ana><A><11><5551234><>$")
	r.settle(h(9, 0, 250), relay.Done, "", relay.OK("ana"))
	r.event(h(9, 0, 900), relay.Frame{"ana", "A", "11", "5551234"})
	r.event(h(9, 5, 0), relay.EndCall("ana"))
	r.command(h(10, 0, 0), "<ana><A><11><5559999><>$")
	r.settle(h(10, 2, 0), relay.Dead, "in-doubt: lease expired at the switch", relay.ErrReply("ana", "IN_DOUBT", "in doubt"))
	r.event(h(11, 0, 0), relay.Frame{"ana", "R", "5550000"})
	// bia: a pause refused by the switch, a retried status, a command
	// whose reply comes after the day's grace.
	r.command(h(12, 0, 0), "<bia><P><ON><7>$")
	r.settle(h(12, 0, 30), relay.Dead, "switch-refused: no such pause", relay.ErrReply("bia", "REFUSED", "no such pause"))
	r.command(h(13, 0, 0), "<bia><S>$")
	r.settle(h(13, 0, 5), relay.Done, "", relay.StatusReply("bia", relay.StatePaused))
	r.event(h(14, 0, 0), relay.Frame{"bia", "R", "5551111"})
	r.event(h(14, 3, 0), relay.EndCall("bia"))
	r.command(h(23, 59, 0), "<bia><S>$")
	r.settle(jobDay.Add(24*time.Hour+5*time.Minute), relay.Done, "", relay.StatusReply("bia", relay.StateBusy))
	return st
}

func TestReconcileGolden(t *testing.T) {
	t.Parallel()
	st := fixedJournal(t)
	dir := t.TempDir()
	job := relay.ReconcileJob{Store: st, Dir: dir, Page: 3}
	var reports [][2]int64
	summary, err := job.Run(context.Background(), relay.RunInfo{Job: "reconcile", Slot: jobDay.Add(24*time.Hour + 30*time.Minute), Location: time.UTC,
		Progress: func(done, total int64) { reports = append(reports, [2]int64{done, total}) }})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(reports); n < 3 || reports[0][0] != 0 || reports[n-1][0] != reports[n-1][1] {
		t.Fatalf("progress %v: want from 0 to the total, a page at a time", reports)
	}
	file := filepath.Join(dir, "reconcile-2025-06-01.csv")
	if summary["file"] != file {
		t.Fatalf("summary file %v, want %s", summary["file"], file)
	}
	got, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "reconcile.golden.csv")
	if updating() {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("reconcile CSV:\n%s\nwant (testdata/reconcile.golden.csv, -update rewrites it):\n%s", got, want)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("the directory holds %d files, want only the report (no temporary left)", len(entries))
	}
	raw, _ := json.Marshal(summary)
	for _, want := range []string{`"agents":2`, `"commands":7`, `"in_doubt":1`, `"calls_without_endcall":1`, `"commands_without_reply":1`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("summary %s lacks %s", raw, want)
		}
	}
}

func TestReconcilePeriodIsThePreviousDayInTheZone(t *testing.T) {
	t.Parallel()
	ny := zone(t, "America/New_York")
	// The run at 00:30 on 10 March: the period is 9 March, 23 hours long.
	from, to := relay.ReconcilePeriod(time.Date(2025, 3, 10, 0, 30, 0, 0, ny), ny)
	if !from.Equal(time.Date(2025, 3, 9, 0, 0, 0, 0, ny)) || to.Sub(from) != 23*time.Hour {
		t.Fatalf("period %v – %v", from, to)
	}
	if name := relay.ReconcileFileName(from, to, ny); name != "reconcile-2025-03-09.csv" {
		t.Fatalf("file name %s", name)
	}
}

func TestRetentionPrunesEachTableByItsAge(t *testing.T) {
	t.Parallel()
	st := fixedJournal(t)
	before, _ := st.Journal(context.Background(), 0, 1000)
	clock := fixedClock(jobDay.Add(12 * time.Hour))
	job := relay.RetentionJob{Store: st, Clock: clock, JournalAge: 3 * time.Hour, DeadAge: time.Hour, Batch: 2}
	summary, err := job.Run(context.Background(), relay.RunInfo{})
	if err != nil {
		t.Fatal(err)
	}
	after, _ := st.Journal(context.Background(), 0, 1000)
	for _, e := range after {
		if e.At.Before(jobDay.Add(9 * time.Hour)) {
			t.Fatalf("a row older than 3h stayed: %+v", e)
		}
	}
	if summary["journal_deleted"] != len(before)-len(after) || len(before) == len(after) {
		t.Fatalf("summary %v; journal %d → %d", summary, len(before), len(after))
	}
	dead, _ := st.DeadLetters(context.Background(), 0, 10)
	if len(dead) != 1 || summary["dead_deleted"] != 1 {
		t.Fatalf("dead letters left %+v, summary %v: the in-doubt one (10:02) goes, bia's (12:00) stays", dead, summary)
	}
	if _, ok := summary["job_run_deleted"]; ok {
		t.Fatal("relay_job_run pruned with no age configured")
	}
}

func TestDeadRetryRetriesOnlyRetriableReasonsUpToTheCap(t *testing.T) {
	t.Parallel()
	st := memstore.New()
	r := journalRig{t, st}
	for i, reason := range []string{"retries-exhausted: timeout", "in-doubt: lease expired", "retries-exhausted: reset", "retries-exhausted: refused"} {
		at := jobDay.Add(time.Duration(i) * time.Minute)
		r.command(at, "<ana><S>$")
		r.settle(at, relay.Dead, reason, relay.ErrReply("ana", "X", "x"))
	}
	job := relay.DeadRetryJob{Store: st, Clock: fixedClock(jobDay.Add(time.Hour)), Reasons: []string{"retries-exhausted"}, Max: 2}
	summary, err := job.Run(context.Background(), relay.RunInfo{})
	if err != nil {
		t.Fatal(err)
	}
	dead, _ := st.DeadLetters(context.Background(), 0, 10)
	if summary["retried"] != 2 || len(dead) != 2 || !strings.HasPrefix(dead[0].Reason, "in-doubt") || !strings.HasSuffix(dead[1].Reason, "refused") {
		t.Fatalf("summary %v, left %+v", summary, dead)
	}
	if n := len(st.Inbox()); n != 2 {
		t.Fatalf("inbox holds %d, want the 2 retried", n)
	}
}

// fixedClock never moves; After fires at once.
type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }
func (c fixedClock) After(time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	ch <- time.Time(c)
	return ch
}
