package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

func init() {
	register("LockGrantedOnceAcrossRelays", lockOnce)
	register("LockTakenOverWhenHolderDies", lockTakeover)
	register("InFlightListsOtherRelaysCommands", inFlight)
}

func tryLock(t *testing.T, l relay.Locker, name string) (bool, <-chan struct{}, func()) {
	t.Helper()
	held, lost, release, err := l.TryLock(context.Background(), name)
	if err != nil {
		t.Fatalf("TryLock(%s): %v", name, err)
	}
	if held && release == nil {
		t.Fatalf("TryLock(%s): held with no release", name)
	}
	return held, lost, release
}

// A named lock has one holder among every relay of the database, itself
// included, until it is released; names are independent.
func lockOnce(t *testing.T, e *env) {
	if e.Open == nil {
		t.Skip("the dialect allows one handle only")
	}
	other := e.Open(t)
	a, b := e.Store, other
	held, lost, releaseA := tryLock(t, a, relay.LockMonitor)
	if !held {
		t.Fatal("first TryLock: not held")
	}
	if held, _, _ := tryLock(t, b, relay.LockMonitor); held {
		t.Fatal("a second relay took a held lock")
	}
	if held, _, _ := tryLock(t, a, relay.LockMonitor); held {
		t.Fatal("the holder took its own lock twice")
	}
	held, _, releaseJobs := tryLock(t, b, "jobs")
	if !held {
		t.Fatal("another name: not held")
	}
	releaseJobs()
	releaseA()
	releaseA() // twice is harmless
	select {
	case <-lost:
		t.Fatal("a released lock reads as lost")
	default:
	}
	held, _, releaseB := tryLock(t, b, relay.LockMonitor)
	if !held {
		t.Fatal("not granted after Release")
	}
	if held, _, _ := tryLock(t, a, relay.LockMonitor); held {
		t.Fatal("granted twice after a takeover")
	}
	releaseB()
}

// The holder's connection dies (a relay killed, or cut off from the
// database): it learns the lock is lost and another relay takes it.
func lockTakeover(t *testing.T, e *env) {
	if e.Open == nil {
		t.Skip("the dialect allows one handle only")
	}
	holder := e.Open(t)
	held, lost, release := tryLock(t, holder, relay.LockMonitor)
	if !held {
		t.Fatal("TryLock: not held")
	}
	defer release()
	if e.KillLocks != nil {
		e.KillLocks(t)
	} else if err := holder.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-lost:
	case <-time.After(time.Minute):
		t.Fatal("the holder was not told its lock is lost")
	}
	deadline := time.Now().Add(time.Minute)
	for {
		held, _, release := tryLock(t, e.Store, relay.LockMonitor)
		if held {
			release()
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no other relay could take the lock of a dead holder")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// InFlight: the commands other relays hold at the switch, for logins in any
// letter case; not the asker's own, not commands waiting or finished.
func inFlight(t *testing.T, e *env) {
	p := e.Store
	probe := func(owner string, agents ...string) []relay.Lease {
		t.Helper()
		got, err := p.InFlight(context.Background(), agents, owner)
		if err != nil {
			t.Fatalf("InFlight: %v", err)
		}
		slices.SortFunc(got, func(a, b relay.Lease) int { return int(a.ID - b.ID) })
		return got
	}
	// ANA is another spelling of ana, so another queue: both of its
	// spellings, the one in lower case and the other, are found
	ids := e.cli(t, t0, "<Jose><A><11><5551234><>$", "<ana><S>$", "<bia><S>$", "<Jose><S>$", "<ANA><S>$")
	equal(t, "nothing claimed", probe("r1", "jose", "ana"), []relay.Lease(nil))
	if j := e.claim(t, "r2", 2, t0, at(time.Minute)); len(j) != 2 {
		t.Fatalf("claim r2: %+v", j)
	}
	if j := e.claim(t, "r1", 1, t0, at(time.Minute)); len(j) != 1 || j[0].ID != ids[2] {
		t.Fatalf("claim r1: %+v", j)
	}
	if j := e.claim(t, "r2", 1, t0, at(time.Minute)); len(j) != 1 || j[0].ID != ids[4] {
		t.Fatalf("claim r2 ANA: %+v", j)
	}
	equal(t, "r1 asks", probe("r1", "JOSE", "ana", "bia", "nobody"), []relay.Lease{
		{ID: ids[0], Attempts: 1, Agent: "Jose"}, {ID: ids[1], Attempts: 1, Agent: "ana"}, {ID: ids[4], Attempts: 1, Agent: "ANA"},
	})
	equal(t, "r1 asks in capitals", probe("r1", "ANA"), []relay.Lease{
		{ID: ids[1], Attempts: 1, Agent: "ana"}, {ID: ids[4], Attempts: 1, Agent: "ANA"},
	})
	equal(t, "r2 asks", probe("r2", "jose", "ana", "bia"), []relay.Lease{{ID: ids[2], Attempts: 1, Agent: "bia"}})
	equal(t, "no agents", probe("r1"), []relay.Lease(nil))
	e.settle(t, at(time.Second), relay.Outcome{
		Job:     job(ids[0], "cli", "cli-1", "Jose", relay.VerbDial, "<Jose><A><11><5551234><>$", 1, t0, "r2"),
		Kind:    relay.Done,
		Replies: []relay.Frame{relay.OK("Jose")},
	})
	// Jose's next command waits for a claim: nothing of Jose is in flight
	equal(t, "after the settle", probe("r1", "jose"), []relay.Lease(nil))
}
