package relay_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
	"github.com/ctirelay/ctirelay/store/memstore"
)

var schedEpoch = time.Date(2025, 6, 2, 10, 0, 30, 0, time.UTC)

// slotLog records the slots a job ran, and can hold a run until released.
type slotLog struct {
	mu    sync.Mutex
	slots []time.Time
	hold  chan struct{} // nil: runs return at once
}

func (l *slotLog) job(ctx context.Context, run relay.RunInfo) (map[string]any, error) {
	l.mu.Lock()
	l.slots = append(l.slots, run.Slot)
	n, hold := len(l.slots), l.hold
	l.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return map[string]any{"n": n}, nil
}

func (l *slotLog) ran() []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]time.Time(nil), l.slots...)
}

type schedRig struct {
	t     *testing.T
	clock *relaytest.Clock
	store *memstore.Store
}

func newSchedRig(t *testing.T, now time.Time) *schedRig {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	return &schedRig{t: t, clock: relaytest.NewClock(now), store: memstore.New()}
}

// start runs a scheduler; its waits come on the returned channel.
func (r *schedRig) start(owner string, jobs ...relay.ScheduledJob) (*relay.Scheduler, <-chan look) {
	r.t.Helper()
	waits := make(chan look, 100_000)
	s, err := relay.NewScheduler(relay.SchedulerConfig{Store: r.store, Owner: owner, Jobs: jobs, Clock: r.clock,
		RunBeat: time.Hour, Waiting: func(w time.Time, n int) { waits <- look{w, n} }})
	if err != nil {
		r.t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(s.Stop)
	return s, waits
}

// look is one wait of the leader: when it looks again, with how many runs
// in progress.
type look struct {
	wake    time.Time
	running int
}

// next moves the clock to the leader's next look; with idle, only once it
// has seen its runs finish (runs that return at once would otherwise race
// the clock into the overlap rule).
func (r *schedRig) next(waits <-chan look, idle bool) {
	r.t.Helper()
	r.nextUnless(waits, idle, func() bool { return false })
}

// nextUnless is next, but it leaves the clock where it is when stop holds
// once the look is seen (what finished before the look was posted).
func (r *schedRig) nextUnless(waits <-chan look, idle bool, stop func() bool) {
	r.t.Helper()
	for {
		select {
		case w := <-waits:
			if idle && w.running > 0 {
				continue
			}
			if stop() {
				return
			}
			if d := w.wake.Sub(r.clock.Now()); d > 0 {
				r.clock.Advance(d)
			}
			return
		case <-time.After(wait.Safety):
			r.t.Fatal("the leader never waited")
		}
	}
}

// until moves the clock from look to look until cond holds; it never moves
// it past a look after which cond holds (the next slot would run).
func (r *schedRig) until(waits <-chan look, what string, cond func() bool) {
	r.t.Helper()
	for range 10_000 {
		if cond() {
			return
		}
		r.nextUnless(waits, true, cond)
	}
	r.t.Fatalf("never: %s", what)
}

// advanceTo moves the clock from look to look until it reaches t (the
// leader's goroutines are then waited for with wait.For: advancing until
// they show would race them).
func (r *schedRig) advanceTo(waits <-chan look, t time.Time) {
	r.t.Helper()
	for r.clock.Now().Before(t) {
		r.next(waits, false)
	}
}

func (r *schedRig) runs(job string) []relay.JobRun {
	r.t.Helper()
	runs, err := r.store.JobRuns(context.Background(), job, 1000)
	if err != nil {
		r.t.Fatal(err)
	}
	return runs
}

func (r *schedRig) finished(job string, n int) func() bool {
	return func() bool {
		k := 0
		for _, run := range r.runs(job) {
			if run.Status != relay.RunRunning {
				k++
			}
		}
		return k >= n
	}
}

func every(t *testing.T, spec string, loc *time.Location) relay.Schedule {
	t.Helper()
	s, err := relay.ParseSchedule(spec, loc)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSchedulerRunsEachSlotOnceUnderItsRow(t *testing.T) {
	r := newSchedRig(t, schedEpoch)
	var log slotLog
	s, waits := r.start("node-a#1", relay.ScheduledJob{Name: "retention", Schedule: every(t, "@every 1m", time.UTC), Enabled: true, Run: log.job},
		relay.ScheduledJob{Name: "off", Schedule: every(t, "@every 1m", time.UTC), Enabled: false, Run: log.job})
	r.until(waits, "three runs", r.finished("retention", 3))
	if !s.Leader() || len(s.Holds()) != 1 || s.Holds()[0] != relay.LockScheduler {
		t.Fatalf("the only relay does not lead: %v %v", s.Leader(), s.Holds())
	}
	s.Stop()
	want := []time.Time{schedEpoch.Add(30 * time.Second), schedEpoch.Add(90 * time.Second), schedEpoch.Add(150 * time.Second)}
	got := log.ran()
	if len(got) != 3 || !got[0].Equal(want[0]) || !got[1].Equal(want[1]) || !got[2].Equal(want[2]) {
		t.Fatalf("ran %v, want %v", got, want)
	}
	runs := r.runs("retention")
	for i, run := range runs {
		slot := want[len(want)-1-i]
		if run.Status != relay.RunOK || !run.Slot.Equal(slot) || run.Node != "node-a#1" || run.Summary == "" || run.FinishedAt.IsZero() {
			t.Fatalf("run %d: %+v, want ok for %v", i, run, slot)
		}
	}
	if len(r.runs("off")) != 0 {
		t.Fatal("a disabled job ran")
	}
}

func TestSchedulerCatchUp(t *testing.T) {
	for _, c := range []struct {
		catchUp string
		want    []string // statuses of the slots 11:00, 12:00, 13:00
	}{
		{relay.CatchUpSkip, []string{relay.RunMissed, relay.RunMissed, relay.RunMissed}},
		{relay.CatchUpOnce, []string{relay.RunMissed, relay.RunMissed, relay.RunOK}},
	} {
		t.Run(c.catchUp, func(t *testing.T) {
			start := time.Date(2025, 6, 2, 13, 30, 0, 0, time.UTC)
			r := newSchedRig(t, start)
			// The last leader ran 10:00 and died; nobody ran since.
			s0 := time.Date(2025, 6, 2, 10, 0, 0, 0, time.UTC)
			if _, err := r.store.BeginRun(context.Background(), relay.JobRun{Job: "reconcile", Slot: s0, Node: "old#1",
				Status: relay.RunOK, StartedAt: s0, FinishedAt: s0, HeartbeatAt: s0}, time.Time{}); err != nil {
				t.Fatal(err)
			}
			var log slotLog
			r.start("node-a#1", relay.ScheduledJob{Name: "reconcile", Schedule: every(t, "0 * * * *", time.UTC),
				Enabled: true, CatchUp: c.catchUp, Run: log.job})
			wait.For(t, "the missed slots recorded", r.finished("reconcile", 4))
			runs := r.runs("reconcile")
			var got []string
			for i := 2; i >= 0; i-- {
				got = append(got, runs[i].Status)
				if want := s0.Add(time.Duration(3-i) * time.Hour); !runs[i].Slot.Equal(want) {
					t.Fatalf("slot %v, want %v", runs[i].Slot, want)
				}
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Fatalf("statuses %v, want %v", got, c.want)
				}
			}
		})
	}
}

func TestSchedulerNeverOverlapsARun(t *testing.T) {
	r := newSchedRig(t, schedEpoch)
	log := slotLog{hold: make(chan struct{})}
	_, waits := r.start("node-a#1", relay.ScheduledJob{Name: "reconcile", Schedule: every(t, "@every 1m", time.UTC), Enabled: true, Run: log.job})
	r.advanceTo(waits, schedEpoch.Add(30*time.Second))
	wait.For(t, "the first run started", func() bool { return len(log.ran()) == 1 })
	r.advanceTo(waits, schedEpoch.Add(90*time.Second))
	wait.For(t, "the next slot missed", r.finished("reconcile", 1))
	runs := r.runs("reconcile")
	for _, run := range runs[:len(runs)-1] { // the slots after the first: missed
		if run.Status != relay.RunMissed || !strings.Contains(run.Summary, "still running") {
			t.Fatalf("runs: %+v", runs)
		}
	}
	if len(runs) < 2 || runs[len(runs)-1].Status != relay.RunRunning {
		t.Fatalf("runs: %+v", runs)
	}
	// A manual run follows the same rule.
	runner := relay.Runner{Store: r.store, Owner: "cli#1", Clock: r.clock, Beat: time.Hour}
	if _, err := runner.Begin(context.Background(), "reconcile", r.clock.Now(), true); !errors.Is(err, relay.ErrJobRunning) {
		t.Fatalf("manual run beside a running one: %v, want ErrJobRunning; runs %+v", err, r.runs("reconcile"))
	}
	close(log.hold)
	wait.For(t, "the first run finished", r.finished("reconcile", 2))
	if n := len(log.ran()); n != 1 {
		t.Fatalf("%d runs, want 1", n)
	}
}

// The leader's lock is lost (its database session died): its run stops at
// once, another relay takes over, and no slot runs twice.
func TestSchedulerLeaderChange(t *testing.T) {
	r := newSchedRig(t, schedEpoch)
	logA := slotLog{hold: make(chan struct{})}
	var logB slotLog
	job := func(l *slotLog) relay.ScheduledJob {
		return relay.ScheduledJob{Name: "agent-sync", Schedule: every(t, "@every 1m", time.UTC), Enabled: true, Run: l.job}
	}
	a, waitsA := r.start("node-a#1", job(&logA))
	wait.For(t, "a leader", a.Leader)
	b, waitsB := r.start("node-b#1", job(&logB))
	r.advanceTo(waitsA, schedEpoch.Add(30*time.Second))
	wait.For(t, "a's run started", func() bool { return len(logA.ran()) == 1 })
	if b.Leader() {
		t.Fatal("two leaders")
	}
	r.store.DropLocks()
	first := logA.ran()[0]
	wait.For(t, "a's run interrupted", func() bool {
		for _, run := range r.runs("agent-sync") {
			if run.Slot.Equal(first) {
				return run.Status == relay.RunInterrupted
			}
		}
		return false
	})
	// a may have taken the lock again (b tries once a second of the
	// clock): it dies now, as a killed relay does.
	a.Stop()
	for !b.Leader() {
		r.clock.Advance(time.Second)
		wait.For(t, "b tried", func() bool { return b.Leader() || r.clock.Waiters() > 0 })
	}
	r.until(waitsB, "b ran a slot", func() bool { return len(logB.ran()) >= 1 })
	seen := map[time.Time]int{}
	for _, run := range r.runs("agent-sync") {
		if !run.Manual {
			seen[run.Slot]++
		}
	}
	for slot, n := range seen {
		if n > 1 {
			t.Fatalf("slot %v recorded %d times", slot, n)
		}
	}
	if first, second := logA.ran()[0], logB.ran()[0]; !second.After(first) {
		t.Fatalf("b ran %v, not after a's %v", second, first)
	}
}

// A daily job across both of a year's transitions: once a day, at 03:00 on
// the night 02:30 does not exist, once on the night 01:30 happens twice.
func TestSchedulerFollowsDaylightSaving(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, spec string
		start      time.Time
		want       []string
	}{
		{"skipped hour", "30 2 * * *", time.Date(2025, 3, 8, 12, 0, 0, 0, ny),
			[]string{"2025-03-09 03:00 EDT", "2025-03-10 02:30 EDT"}},
		{"repeated hour", "30 1 * * *", time.Date(2025, 11, 1, 12, 0, 0, 0, ny),
			[]string{"2025-11-02 01:30 EDT", "2025-11-03 01:30 EST"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newSchedRig(t, c.start)
			var log slotLog
			_, waits := r.start("node-a#1", relay.ScheduledJob{Name: "reconcile", Schedule: every(t, c.spec, ny), Enabled: true, Run: log.job})
			r.until(waits, "two runs", r.finished("reconcile", 2))
			var got []string
			for _, s := range log.ran() {
				got = append(got, s.In(ny).Format("2006-01-02 15:04 MST"))
			}
			if len(got) != 2 || got[0] != c.want[0] || got[1] != c.want[1] {
				t.Fatalf("ran %v, want %v", got, c.want)
			}
		})
	}
}

func TestSchedulerStartStop(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	relaytest.StressStartStop(t, func(t *testing.T) relay.Service {
		s, err := relay.NewScheduler(relay.SchedulerConfig{Store: memstore.New(), Owner: "n#1",
			Jobs: []relay.ScheduledJob{{Name: "j", Schedule: every(t, "@every 1m", time.UTC), Enabled: true,
				Run: func(context.Context, relay.RunInfo) (map[string]any, error) { return nil, nil }}}})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
