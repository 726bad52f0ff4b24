package relay_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
	"github.com/ctirelay/ctirelay/store/memstore"
)

// notesIn are the notes of the store's journal, in order.
func notesIn(t *testing.T, st *memstore.Store) []relay.Note {
	t.Helper()
	journal, err := st.Journal(context.Background(), 0, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	var notes []relay.Note
	for _, e := range journal {
		if e.Kind == relay.KindNote {
			notes = append(notes, relay.NoteOf(e))
		}
	}
	return notes
}

func TestDeadRetryJournalsEachLetterRetried(t *testing.T) {
	t.Parallel()
	st := memstore.New()
	r := journalRig{t, st}
	for i, c := range []struct{ agent, reason string }{{"ana", "retries-exhausted: timeout"}, {"bia", "in-doubt: lease expired"}, {"cid", "retries-exhausted: reset"}} {
		at := jobDay.Add(time.Duration(i) * time.Minute)
		r.command(at, "<"+c.agent+"><S>$")
		r.settle(at, relay.Dead, c.reason, relay.ErrReply(c.agent, "X", "x"))
	}
	job := relay.DeadRetryJob{Store: st, Notes: st, Clock: fixedClock(jobDay.Add(time.Hour)), Reasons: []string{"retries-exhausted"}}
	if _, err := job.Run(context.Background(), relay.RunInfo{Job: "dead-retry"}); err != nil {
		t.Fatal(err)
	}
	notes := notesIn(t, st)
	if len(notes) != 2 || notes[0].Agent != "ana" || notes[1].Agent != "cid" {
		t.Fatalf("notes %+v: want one per retried letter (ana, cid)", notes)
	}
	for _, n := range notes {
		if n.Origin != "job:dead-retry" || n.What != relay.NoteDeadRetried || !strings.Contains(n.Text, "retries-exhausted") ||
			!strings.Contains(n.Text, "<"+n.Agent+"><S>$") {
			t.Fatalf("note %+v", n)
		}
	}
	// Nothing retriable left: no note.
	if _, err := job.Run(context.Background(), relay.RunInfo{Job: "dead-retry"}); err != nil || len(notesIn(t, st)) != 2 {
		t.Fatalf("a second run wrote notes: %+v, %v", notesIn(t, st), err)
	}
}

// gone has a DBA drop letter `drop` just before the job retries it: the
// run neither counts nor notes it, since it did not move it.
type gone struct {
	*memstore.Store
	drop int64
}

func (g gone) RetryDead(ctx context.Context, ids []int64, now time.Time) (int, error) {
	if _, err := g.DropDead(ctx, []int64{g.drop}); err != nil {
		return 0, err
	}
	return g.Store.RetryDead(ctx, ids, now)
}

func TestDeadRetryNotesOnlyTheLettersItMoved(t *testing.T) {
	t.Parallel()
	st := memstore.New()
	r := journalRig{t, st}
	for i, agent := range []string{"ana", "bia"} {
		at := jobDay.Add(time.Duration(i) * time.Minute)
		r.command(at, "<"+agent+"><S>$")
		r.settle(at, relay.Dead, "retries-exhausted: timeout", relay.ErrReply(agent, "X", "x"))
	}
	dead, _ := st.DeadLetters(context.Background(), 0, 10)
	job := relay.DeadRetryJob{Store: gone{st, dead[0].ID}, Notes: st, Clock: fixedClock(jobDay.Add(time.Hour)), Reasons: []string{"retries-exhausted"}}
	summary, err := job.Run(context.Background(), relay.RunInfo{Job: "dead-retry"})
	if err != nil {
		t.Fatal(err)
	}
	if notes := notesIn(t, st); summary["retried"] != 1 || len(notes) != 1 || notes[0].Agent != "bia" {
		t.Fatalf("summary %v, notes %+v: want bia's only (ana's was dropped first)", summary, notes)
	}
}

func TestAgentSyncJournalsEachDifference(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := memstore.New()
	r := journalRig{t, st}
	now := jobDay.Add(12 * time.Hour)
	for _, agent := range []string{"ana", "bia", "cid"} { // activity: known agents
		r.command(now.Add(-time.Hour), "<"+agent+"><S>$")
		r.settle(now.Add(-time.Hour), relay.Done, "", relay.StatusReply(agent, relay.StateAvailable))
	}
	prev := relay.JobRun{Job: "agent-sync", Slot: now.Add(-10 * time.Minute), Node: "n#1", Status: relay.RunOK,
		StartedAt: now.Add(-10 * time.Minute), FinishedAt: now.Add(-10 * time.Minute), HeartbeatAt: now.Add(-10 * time.Minute),
		Summary: `{"states":{"ana":"available","bia":"available","cid":"available"}}`}
	if _, err := st.BeginRun(ctx, prev, time.Time{}); err != nil {
		t.Fatal(err)
	}
	job := relay.AgentSyncJob{Name: "agent-sync", Store: st, Notes: st, Clock: fixedClock(now), Wait: time.Minute}
	done := make(chan map[string]any, 1)
	go func() {
		s, err := job.Run(ctx, relay.RunInfo{Job: "agent-sync", Slot: now})
		if err != nil {
			t.Error(err)
		}
		done <- s
	}()
	// The switch: ana logged off behind the ERP's back, bia paused, cid as before.
	answer := map[string]relay.AgentState{"ana": relay.StateLoggedOff, "bia": relay.StatePaused, "cid": relay.StateAvailable}
	answered := 0
	wait.For(t, "the three S answered", func() bool {
		jobs, err := st.Claim(ctx, relay.ClaimRequest{Owner: "sw#1", Limit: 10, Now: now, LeaseUntil: now.Add(time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range jobs {
			if _, _, err := st.Settle(ctx, []relay.Outcome{{Job: j, Kind: relay.Done, Replies: []relay.Frame{relay.StatusReply(j.Agent, answer[j.Agent])}}}, now, relay.ClaimRequest{}); err != nil {
				t.Fatal(err)
			}
			answered++
		}
		return answered == 3
	})
	summary := <-done
	if fmt.Sprint(summary["changes"]) != "[map[agent:ana now:logged-off was:available] map[agent:bia now:paused was:available]]" {
		t.Fatalf("changes %v", summary["changes"])
	}
	notes := notesIn(t, st)
	if len(notes) != 2 || notes[0].Agent != "ana" || notes[1].Agent != "bia" {
		t.Fatalf("notes %+v: want ana's and bia's", notes)
	}
	for _, n := range notes {
		if n.Origin != "job:agent-sync" || n.What != relay.NoteStateDiffers || !strings.Contains(n.Text, "saw available") {
			t.Fatalf("note %+v", n)
		}
	}
	if !strings.Contains(notes[0].Text, "logged-off") {
		t.Fatalf("ana's note %q does not say what the switch says", notes[0].Text)
	}
}

func TestRetentionExpiresUnreadTTORowsByTheMarks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := memstore.New()
	r := journalRig{t, st}
	r.event(jobDay, relay.Frame{"ana", "R", "5550000"})
	r.event(jobDay, relay.EndCall("ana"))
	job := relay.RetentionJob{Store: st, OutboxAge: time.Hour, Batch: 1}
	if err := job.MarkOutbox(ctx, jobDay.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	r.event(jobDay.Add(30*time.Minute), relay.Frame{"bia", "R", "5551111"})
	if err := job.MarkOutbox(ctx, jobDay.Add(31*time.Minute)); err != nil {
		t.Fatal(err)
	}
	st.DeleteTTO(st.TTO()[1].ID) // the ERP read ana's EndCall
	job.Clock = fixedClock(jobDay.Add(time.Hour + 5*time.Minute))
	summary, err := job.Run(ctx, relay.RunInfo{Job: "retention"})
	if err != nil {
		t.Fatal(err)
	}
	if summary["tto_expired"] != 1 || len(st.TTO()) != 1 || st.TTO()[0].Text != "<bia><R><5551111>$" {
		t.Fatalf("summary %v, T_TTO left %+v: ana's R goes, bia's (written after the mark 1h ago) stays", summary, st.TTO())
	}
	if notes := notesIn(t, st); len(notes) != 1 || notes[0].Agent != "ana" || notes[0].Origin != "job:retention" || notes[0].What != relay.NoteTTOExpired ||
		!strings.HasSuffix(notes[0].Text, ": <ana><R><5550000>$") {
		t.Fatalf("notes %+v", notes)
	}
	// Off by default: no age, nothing expires.
	job.OutboxAge = 0
	job.Clock = fixedClock(jobDay.Add(48 * time.Hour))
	if err := job.MarkOutbox(ctx, jobDay.Add(40*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if summary, err := job.Run(ctx, relay.RunInfo{Job: "retention"}); err != nil || len(st.TTO()) != 1 || summary["tto_expired"] != nil {
		t.Fatalf("T_TTO expired with no age: %v %v", summary, err)
	}
}

func TestSchedulerLeaderDoesItsChoresEveryMinute(t *testing.T) {
	r := newSchedRig(t, schedEpoch)
	var mu sync.Mutex
	var at []time.Time
	chore := relay.Chore{Name: "mark", Run: func(_ context.Context, now time.Time) error {
		mu.Lock()
		defer mu.Unlock()
		at = append(at, now)
		return fmt.Errorf("fails, and is tried again all the same")
	}}
	waits := make(chan look, 100_000)
	s, err := relay.NewScheduler(relay.SchedulerConfig{Store: r.store, Owner: "n#1", Clock: r.clock, Chores: []relay.Chore{chore},
		Waiting: func(w time.Time, n int) { waits <- look{w, n} }})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	r.until(waits, "three chores", func() bool { mu.Lock(); defer mu.Unlock(); return len(at) >= 3 })
	mu.Lock()
	defer mu.Unlock()
	if !at[0].Equal(schedEpoch) || at[1].Sub(at[0]) != time.Minute || at[2].Sub(at[1]) != time.Minute {
		t.Fatalf("chores at %v: want at the start, then every minute", at)
	}
}

func TestReconcileLeavesTheRelaysNotesOut(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := memstore.New()
	r := journalRig{t, st}
	at := jobDay.Add(8 * time.Hour)
	r.command(at, "<ana><S>$")
	if err := st.Note(ctx, []relay.Note{{Agent: "zed", Origin: "job:agent-sync", What: relay.NoteStateDiffers, Text: "<zed><S><0>$"},
		{Agent: "ana", Origin: "job:retention", What: relay.NoteTTOExpired, Text: "<ana><R><5550000>$"}}, at.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	r.settle(at.Add(2*time.Second), relay.Done, "", relay.StatusReply("ana", relay.StateAvailable))
	job := relay.ReconcileJob{Store: st, Dir: t.TempDir()}
	summary, err := job.Run(ctx, relay.RunInfo{Job: "reconcile", Slot: jobDay.Add(24*time.Hour + 30*time.Minute), Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	if summary["agents"] != 1 || summary["journal_rows"] != int64(2) || summary["calls_in"] != nil {
		t.Fatalf("summary %v: want ana's command and reply only", summary)
	}
}
