package sqlite_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
	"github.com/ctirelay/ctirelay/store"
	"github.com/ctirelay/ctirelay/store/sqlite"
)

// manualTicks is the watcher's timer driven by the test: each tick is
// taken by the watcher's next wait, so two ticks in a row mean the check
// between them is done.
type manualTicks chan time.Time

func (m manualTicks) after(time.Duration) <-chan time.Time { return m }

// step lets the watcher make one check and return to its wait.
func (m manualTicks) step(t *testing.T) {
	t.Helper()
	for range 2 {
		select {
		case m <- time.Time{}:
		case <-time.After(10 * time.Second):
			t.Fatal("the watcher is not waiting for its timer")
		}
	}
}

func woke(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// A row another process commits to T_TTI wakes the intake at the watcher's
// next look; commits that leave T_TTI empty (the relay's own) and a quiet
// file wake nothing.
func TestWakeupsFireForRowsOtherConnectionsCommit(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "relay.db")
	s := openStore(t, path, store.Options{}, sqlite.Config{Exclusive: true})
	ticks := make(manualTicks)
	sqlite.SetWatchTimer(s, ticks.after)
	intake, claim := s.Wakeups()
	journal := s.JournalWakeups()
	if intake == nil || claim == nil || journal == nil {
		t.Fatalf("Wakeups = %v, %v, JournalWakeups = %v; want three channels", intake, claim, journal)
	}
	erp := erpHandle(t, path, 5*time.Second)

	ticks.step(t)
	if woke(intake) || woke(claim) || woke(journal) {
		t.Fatal("woke on a quiet file")
	}
	if _, err := erp.Exec(`INSERT INTO T_TTI (DS_TTI) VALUES ('<a1><P><ON><1>$')`); err != nil {
		t.Fatal(err)
	}
	ticks.step(t)
	if !woke(intake) {
		t.Fatal("a row committed to T_TTI by another connection did not wake the intake")
	}
	// Any commit of another connection may have written the journal (a
	// relay process's replies); rows in T_TTI are the intake's, not the
	// claim loop's.
	if !woke(journal) || woke(claim) {
		t.Fatal("a row committed to T_TTI by another connection: want the journal feed woken, the claim loop not")
	}

	ticks.step(t)
	if woke(intake) {
		t.Fatal("woke again with no new commit")
	}
	// The relay takes the row: a commit, but T_TTI is empty after it.
	if n, _, err := s.Intake(context.Background(), relay.IntakeRequest{Limit: 10, Now: time.Now(), MaxFrame: relay.DefaultMaxFrame}, relay.ClaimRequest{}); err != nil || n != 1 {
		t.Fatalf("intake = %d, %v", n, err)
	}
	ticks.step(t)
	if woke(intake) {
		t.Fatal("the relay's own intake, leaving T_TTI empty, woke the intake")
	}
	// The store's own commits wake neither the feed nor the claim loop:
	// under load they are thousands a second, and the engine wakes both.
	if woke(journal) || woke(claim) {
		t.Fatal("the store's own commit woke the journal feed or the claim loop")
	}
	// Another process's commit that leaves T_TTI empty (`ctirelay send`
	// writing the inbox) wakes the claim loop and the feed, not the intake.
	if _, err := erp.Exec(`CREATE TABLE other_process (a)`); err != nil {
		t.Fatal(err)
	}
	ticks.step(t)
	if woke(intake) || !woke(claim) || !woke(journal) {
		t.Fatal("another process's commit leaving T_TTI empty: want the claim loop and the feed woken, not the intake")
	}
	// Wakeups again is the same channel; Close stops the watcher (goleak).
	if again, _ := s.Wakeups(); again != intake {
		t.Error("a second Wakeups made a second watcher")
	}
}

// End to end: an engine whose clock never fires its poll dispatches a row
// the ERP inserts, woken by the watcher alone.
func TestEngineDispatchesAnExternalRowWithoutThePoll(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "relay.db")
	s := openStore(t, path, store.Options{}, sqlite.Config{Exclusive: true})
	ticks := make(manualTicks)
	sqlite.SetWatchTimer(s, ticks.after)
	clock := relaytest.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	driver := &relaytest.Driver{Started: make(chan relay.Command, 4)}
	e, err := relay.NewEngine(relay.EngineConfig{Node: "wake", Store: s, Driver: driver, Clock: clock, SoleRelay: true, PollInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer e.Stop()
	erp := erpHandle(t, path, 5*time.Second)
	ticks.step(t) // the engine's first look at T_TTI may be under way: let the watcher settle
	if _, err := erp.Exec(`INSERT INTO T_TTI (DS_TTI) VALUES ('<a1><P><ON><7>$')`); err != nil {
		t.Fatal(err)
	}
	ticks.step(t)
	select {
	case cmd := <-driver.Started:
		if cmd.Arg(1) != "7" {
			t.Errorf("dispatched %v, want the row's pause 7", cmd)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the row was not dispatched: nothing but the poll wakes the intake")
	}
}

// After a file event the watcher looks watchHot times 1 ms apart, then at
// doubling intervals up to its idle 250 ms: another process's commit can
// become visible long after its last write (the WAL's sync under load),
// with no event to say so.
func TestLookScheduleAfterAnEvent(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	for _, tc := range []struct {
		name  string
		steps string // p: poke; n: take the next wait
		want  []time.Duration
	}{
		{"quiet file", "nn", []time.Duration{250 * ms, 250 * ms}},
		{"after an event", "pnnnnnnnnnnnnnn",
			[]time.Duration{ms, ms, ms, ms, ms, 2 * ms, 4 * ms, 8 * ms, 16 * ms, 32 * ms, 64 * ms, 128 * ms, 250 * ms, 250 * ms}},
		{"an event in the tail starts over", "pnnnnnnnpnnnnnnn",
			[]time.Duration{ms, ms, ms, ms, ms, 2 * ms, 4 * ms, ms, ms, ms, ms, ms, 2 * ms, 4 * ms}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := sqlite.NewLookSchedule()
			var got []time.Duration
			for _, c := range tc.steps {
				if c == 'p' {
					l.Poke()
				} else {
					got = append(got, l.Next())
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("waits %v, want %v", got, tc.want)
			}
		})
	}
}

// An intake that took rows makes the watcher look again at once: rows
// committed while that intake's wake-up was pending (the watcher skips its
// looks then) and visible only after it read are woken for, not left to the
// poll. The watcher's timer never fires here and file events are off, so
// only the intake's word can make it look.
func TestIntakeThatTookRowsMakesTheWatcherLook(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "relay.db")
	var log relaytest.Buffer
	s := openStore(t, path, store.Options{Logger: log.Logger()}, sqlite.Config{Exclusive: true})
	ticks := make(manualTicks)
	sqlite.SetWatchTimer(s, ticks.after)
	sqlite.WithoutFileEvents(s)
	intake, _ := s.Wakeups()
	erp := erpHandle(t, path, 5*time.Second)
	insert := func(rows string) {
		t.Helper()
		if _, err := erp.Exec(`INSERT INTO T_TTI (DS_TTI) VALUES ` + rows); err != nil {
			t.Fatal(err)
		}
	}
	take := func(limit int) {
		t.Helper()
		n, _, err := s.Intake(context.Background(), relay.IntakeRequest{Limit: limit, Now: time.Now(), MaxFrame: relay.DefaultMaxFrame}, relay.ClaimRequest{})
		if err != nil || n != 1 {
			t.Fatalf("intake = %d, %v; want 1 row", n, err)
		}
	}
	// Not woken for (the watcher has not looked yet): the intake finds the
	// row itself, as the poll would, and the log line at Close counts it.
	insert(`('<a0><P><ON><0>$')`)
	take(10)

	insert(`('<a1><P><ON><1>$'), ('<a2><P><ON><2>$')`)
	ticks.step(t)
	ticks.step(t) // the look the first intake asked for is done, most likely
	if !woke(intake) {
		t.Fatal("rows committed to T_TTI did not wake the intake")
	}
	// One row of two: the other is still in T_TTI, as a row committed
	// just after the intake read would be.
	take(1)
	wait.For(t, "the intake's wake-up for the row left in T_TTI, with no tick", func() bool { return woke(intake) })
	take(10)
	s.Close()
	for _, want := range []string{"intakes_with_rows=3", "intakes_not_woken=1"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("the watcher's log line at Close lacks %s:\n%s", want, log.String())
		}
	}
}
