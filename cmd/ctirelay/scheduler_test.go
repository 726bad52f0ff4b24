package main

import (
	"context"
	"slices"
	"testing"

	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
	"github.com/ctirelay/ctirelay/store/memstore"
)

// What relay_node.holds shows follows the locks: taken, released, lost.
func TestHeldLocksFollowTheLocks(t *testing.T) {
	t.Parallel()
	st := memstore.New()
	h := newHeldLocks(st)
	take := func(name string) func() {
		t.Helper()
		held, _, release, err := h.TryLock(context.Background(), name)
		if err != nil || !held {
			t.Fatalf("TryLock(%s): %v %v", name, held, err)
		}
		return release
	}
	releaseS := take("scheduler")
	take("monitor")
	if got := h.Names(); !slices.Equal(got, []string{"monitor", "scheduler"}) {
		t.Fatalf("held %v", got)
	}
	select {
	case <-h.changed:
	default:
		t.Fatal("taking a lock did not ask for a heartbeat")
	}
	releaseS()
	releaseS()
	if got := h.Names(); !slices.Equal(got, []string{"monitor"}) {
		t.Fatalf("after release: %v", got)
	}
	st.DropLocks() // the connection holding them died
	wait.For(t, "the lost lock gone from the list", func() bool { return len(h.Names()) == 0 })
	take("scheduler")() // granted again, and given back
}
