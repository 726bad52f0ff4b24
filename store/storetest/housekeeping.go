package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

func init() {
	register("PruneDeletesOldRowsInBoundedBatches", prune)
	register("PruneNodesRemovesDeadRelays", pruneNodes)
	register("JournalBetweenReadsAPeriodByPages", journalBetween)
	register("NodesShowWhatTheyHold", nodeHolds)
}

func (e *env) prune(t *testing.T, table string, before time.Time, limit int) int {
	t.Helper()
	n, err := e.Store.Prune(context.Background(), table, before, limit)
	if err != nil {
		t.Fatalf("Prune(%s): %v", table, err)
	}
	return n
}

func prune(t *testing.T, e *env) {
	ctx := context.Background()
	// Journal: five commands a minute apart (one journal row each); dead:
	// three malformed messages a minute apart. Ids follow time, as the
	// relays write them.
	for i := range 5 {
		e.cli(t, at(time.Duration(i)*time.Minute), "<ana><S>$")
		if i < 3 {
			e.enqueue(t, at(time.Duration(i)*time.Minute), relay.Inbound{Source: relay.SourceCLI, Ref: "x", Raw: "garbage"})
		}
	}
	before := e.journal(t)
	cut := at(3 * time.Minute) // rows at 0, 1, 2 minutes go (and the dead-letters' journal rows)
	total := 0
	for {
		n := e.prune(t, relay.PruneJournal, cut, 2)
		if n > 2 {
			t.Fatalf("pruned %d rows with a limit of 2", n)
		}
		total += n
		if n < 2 {
			break
		}
	}
	var kept []relay.JournalEntry
	for _, j := range before {
		if !j.At.Before(cut) {
			kept = append(kept, j)
		}
	}
	if total != len(before)-len(kept) {
		t.Fatalf("pruned %d journal rows, want %d", total, len(before)-len(kept))
	}
	equal(t, "journal after pruning", e.journal(t), kept)

	if n := e.prune(t, relay.PruneDead, at(90*time.Second), 10); n != 2 {
		t.Fatalf("pruned %d dead letters, want 2", n)
	}
	dead, err := e.Store.DeadLetters(ctx, 0, 10)
	if err != nil || len(dead) != 1 || !dead[0].DiedAt.Equal(at(2*time.Minute)) {
		t.Fatalf("dead letters left: %+v, %v", dead, err)
	}

	// Job runs: finished ones only; a running one stays whatever its age.
	for i, status := range []string{relay.RunOK, relay.RunMissed, relay.RunRunning} {
		slot := at(time.Duration(i) * time.Hour)
		run := running("retention", slot, slot)
		if status != relay.RunRunning {
			run.Status, run.FinishedAt = status, slot
		}
		if _, err := e.beginRun(t, run, t0); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.prune(t, relay.PruneJobRuns, at(10*time.Hour), 10); n != 2 {
		t.Fatalf("pruned %d job runs, want the 2 finished", n)
	}
	if runs := e.jobRuns(t, "retention"); len(runs) != 1 || runs[0].Status != relay.RunRunning {
		t.Fatalf("runs left: %+v", runs)
	}
	if _, err := e.Store.Prune(ctx, "inbox", at(time.Hour), 10); err == nil {
		t.Fatal("Prune of a table that is not prunable: no error")
	}
}

func pruneNodes(t *testing.T, e *env) {
	ctx := context.Background()
	for i, id := range []string{"relay-a", "relay-b", "relay-c"} {
		n := relay.Node{ID: id, Host: "h", PID: i + 1, Version: "dev", StartedAt: t0}
		if err := e.Store.Heartbeat(ctx, n, at(time.Duration(i)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	gone, err := e.Store.PruneNodes(ctx, at(90*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(gone)
	equal(t, "pruned", gone, []string{"relay-a", "relay-b"})
	nodes, err := e.Store.Nodes(ctx)
	if err != nil || len(nodes) != 1 || nodes[0].ID != "relay-c" {
		t.Fatalf("nodes left: %+v, %v", nodes, err)
	}
}

func journalBetween(t *testing.T, e *env) {
	for i := range 6 {
		e.cli(t, at(time.Duration(i)*time.Minute), "<ana><S>$")
	}
	all := e.journal(t)
	var got []relay.JournalEntry
	after := int64(0)
	for {
		page, err := e.Store.JournalBetween(context.Background(), at(time.Minute), at(4*time.Minute), after, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > 2 {
			t.Fatalf("page of %d with a limit of 2", len(page))
		}
		if len(page) == 0 {
			break
		}
		after = page[len(page)-1].ID
		for _, j := range page {
			j.ID = 0
			got = append(got, j)
		}
	}
	equal(t, "journal between 1m and 4m", got, all[1:4])
}

func nodeHolds(t *testing.T, e *env) {
	ctx := context.Background()
	n := relay.Node{ID: "relay-a", Host: "h", PID: 1, Version: "dev", StartedAt: t0,
		Holds: []string{relay.LockMonitor, relay.LockScheduler}}
	if err := e.Store.Heartbeat(ctx, n, t0); err != nil {
		t.Fatal(err)
	}
	nodes, err := e.Store.Nodes(ctx)
	if err != nil || len(nodes) != 1 {
		t.Fatalf("nodes: %+v, %v", nodes, err)
	}
	equal(t, "holds", nodes[0].Holds, []string{relay.LockMonitor, relay.LockScheduler})
	n.Holds = nil
	if err := e.Store.Heartbeat(ctx, n, at(time.Second)); err != nil {
		t.Fatal(err)
	}
	nodes, _ = e.Store.Nodes(ctx)
	equal(t, "holds after the lock went", nodes[0].Holds, []string(nil))
}
