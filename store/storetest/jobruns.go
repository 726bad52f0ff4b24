package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

func init() {
	register("JobRunsOnePerSlotNeverOverlapping", jobRunsSlots)
	register("JobRunsStaleRunAbandoned", jobRunsStale)
	register("JobRunsOneSlotAcrossRelays", jobRunsAcrossRelays)
}

func (e *env) beginRun(t *testing.T, run relay.JobRun, stale time.Time) (int64, error) {
	t.Helper()
	id, err := e.Store.BeginRun(context.Background(), run, stale)
	if err != nil && !errors.Is(err, relay.ErrSlotTaken) && !errors.Is(err, relay.ErrJobRunning) {
		t.Fatalf("BeginRun(%s %s): %v", run.Job, run.Slot, err)
	}
	return id, err
}

func (e *env) jobRuns(t *testing.T, job string) []relay.JobRun {
	t.Helper()
	runs, err := e.Store.JobRuns(context.Background(), job, 100)
	if err != nil {
		t.Fatalf("JobRuns(%s): %v", job, err)
	}
	return runs
}

func running(job string, slot, now time.Time) relay.JobRun {
	return relay.JobRun{Job: job, Slot: slot, Node: "relay-a#1", Status: relay.RunRunning, StartedAt: now, HeartbeatAt: now}
}

func jobRunsSlots(t *testing.T, e *env) {
	ctx := context.Background()
	s := e.Store
	if last, err := s.LastSlot(ctx, "retention"); err != nil || !last.IsZero() {
		t.Fatalf("LastSlot of a job never run: %v, %v", last, err)
	}
	slot1, slot2, slot3 := at(time.Hour), at(2*time.Hour), at(3*time.Hour)
	id1, err := e.beginRun(t, running("retention", slot1, slot1), t0)
	if err != nil || id1 == 0 {
		t.Fatalf("first run: %d, %v", id1, err)
	}
	// Another job runs beside it.
	if _, err := e.beginRun(t, running("reconcile", slot1, slot1), t0); err != nil {
		t.Fatalf("another job: %v", err)
	}
	// The same slot again (a second leader): refused, whatever its status.
	if _, err := e.beginRun(t, running("retention", slot1, slot1.Add(time.Second)), t0); !errors.Is(err, relay.ErrSlotTaken) {
		t.Fatalf("the same slot twice: %v, want ErrSlotTaken", err)
	}
	// The next slot while the first still runs: refused, and a manual run too.
	if _, err := e.beginRun(t, running("retention", slot2, slot2), t0); !errors.Is(err, relay.ErrJobRunning) {
		t.Fatalf("an overlapping run: %v, want ErrJobRunning", err)
	}
	manual := running("retention", slot2.Add(time.Minute), slot2.Add(time.Minute))
	manual.Manual = true
	if _, err := e.beginRun(t, manual, t0); !errors.Is(err, relay.ErrJobRunning) {
		t.Fatalf("a manual run beside a running one: %v, want ErrJobRunning", err)
	}
	// A missed slot is recorded even while the job runs.
	missed := relay.JobRun{Job: "retention", Slot: slot2, Node: "relay-a#1", Status: relay.RunMissed,
		StartedAt: slot2, FinishedAt: slot2, HeartbeatAt: slot2, Summary: `{"reason":"overlap"}`}
	if _, err := e.beginRun(t, missed, t0); err != nil {
		t.Fatalf("missed slot: %v", err)
	}
	if err := s.UpdateRun(ctx, id1, relay.RunRunning, slot1.Add(time.Minute), ""); err != nil {
		t.Fatalf("touch: %v", err)
	}
	if err := s.UpdateRun(ctx, id1, relay.RunOK, slot1.Add(2*time.Minute), `{"deleted":3}`); err != nil {
		t.Fatalf("finish: %v", err)
	}
	// Finished is final.
	if err := s.UpdateRun(ctx, id1, relay.RunFailed, slot1.Add(3*time.Minute), `{}`); err != nil {
		t.Fatalf("finish twice: %v", err)
	}
	// Now a manual run may start, and takes no slot of the schedule.
	mid, err := e.beginRun(t, manual, t0)
	if err != nil {
		t.Fatalf("manual run: %v", err)
	}
	if err := s.UpdateRun(ctx, mid, relay.RunFailed, manual.Slot.Add(time.Second), `{"error":"boom"}`); err != nil {
		t.Fatal(err)
	}
	if _, err := e.beginRun(t, running("retention", slot3, slot3), t0); err != nil {
		t.Fatalf("third slot: %v", err)
	}
	got := e.jobRuns(t, "retention")
	want := []relay.JobRun{
		{Job: "retention", Slot: slot3, Node: "relay-a#1", Status: relay.RunRunning, StartedAt: slot3, HeartbeatAt: slot3},
		{Job: "retention", Slot: manual.Slot, Manual: true, Node: "relay-a#1", Status: relay.RunFailed, StartedAt: manual.Slot,
			FinishedAt: manual.Slot.Add(time.Second), HeartbeatAt: manual.Slot.Add(time.Second), Summary: `{"error":"boom"}`},
		missed,
		{Job: "retention", Slot: slot1, Node: "relay-a#1", Status: relay.RunOK, StartedAt: slot1,
			FinishedAt: slot1.Add(2 * time.Minute), HeartbeatAt: slot1.Add(2 * time.Minute), Summary: `{"deleted":3}`},
	}
	for i := range got {
		if got[i].ID == 0 {
			t.Fatalf("run without id: %+v", got[i])
		}
		got[i].ID = 0
	}
	equal(t, "runs of retention", got, want)
	if all := e.jobRuns(t, ""); len(all) != 5 {
		t.Fatalf("every job's runs: %d, want 5", len(all))
	}
	if last, err := s.LastSlot(ctx, "retention"); err != nil || !last.Equal(slot3) {
		t.Fatalf("LastSlot: %v, %v; want %v (manual runs are not slots)", last, err, slot3)
	}
}

// A runner that died mid-run leaves its row running; the next run finds its
// heartbeat stale, marks it abandoned and goes on.
func jobRunsStale(t *testing.T, e *env) {
	slot1, slot2 := at(time.Hour), at(2*time.Hour)
	if _, err := e.beginRun(t, running("reconcile", slot1, slot1), t0); err != nil {
		t.Fatal(err)
	}
	// Its heartbeat (slot1) is not before the bound: still running.
	if _, err := e.beginRun(t, running("reconcile", slot2, slot2), slot1); !errors.Is(err, relay.ErrJobRunning) {
		t.Fatalf("fresh heartbeat: %v, want ErrJobRunning", err)
	}
	if _, err := e.beginRun(t, running("reconcile", slot2, slot2), slot1.Add(time.Microsecond)); err != nil {
		t.Fatalf("stale heartbeat: %v", err)
	}
	runs := e.jobRuns(t, "reconcile")
	if len(runs) != 2 || runs[0].Status != relay.RunRunning || runs[1].Status != relay.RunAbandoned || runs[1].FinishedAt.IsZero() ||
		runs[1].Summary != relay.AbandonedSummary {
		t.Fatalf("runs: %+v", runs)
	}
}

// Two relays racing for one slot: exactly one gets it.
func jobRunsAcrossRelays(t *testing.T, e *env) {
	if e.Open == nil {
		t.Skip("the dialect allows one handle only")
	}
	other := e.Open(t)
	ctx := context.Background()
	slot := at(time.Hour)
	errs := make(chan error, 2)
	for _, s := range []relay.Store{e.Store, other} {
		go func() {
			_, err := s.BeginRun(ctx, running("agent-sync", slot, slot), t0)
			errs <- err
		}()
	}
	ok := 0
	for range 2 {
		switch err := <-errs; {
		case err == nil:
			ok++
		case errors.Is(err, relay.ErrSlotTaken), errors.Is(err, relay.ErrJobRunning):
		default:
			t.Fatalf("BeginRun: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d relays began the slot, want 1", ok)
	}
}
