package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest"
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
