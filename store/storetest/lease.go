package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

func init() {
	register("ReclaimTakesOnlyExpiredLeases", reclaimExpired)
	register("ReleaseHandsCommandsBack", release)
	register("ExtendPushesBackOwnLeases", extend)
}

func reclaimExpired(t *testing.T, e *env) {
	ids := e.cli(t, t0, "<jose><S>$", "<ana><S>$", "<bia><S>$", "<cid><S>$")
	if j := e.claim(t, "r1", 1, t0, at(10*time.Second)); len(j) != 1 || j[0].ID != ids[0] {
		t.Fatalf("claim r1: %+v", j)
	}
	if j := e.claim(t, "r2", 1, t0, at(20*time.Second)); len(j) != 1 || j[0].ID != ids[1] {
		t.Fatalf("claim r2: %+v", j)
	}
	if j := e.claim(t, "r1", 1, t0, at(12*time.Second)); len(j) != 1 || j[0].ID != ids[2] {
		t.Fatalf("claim r1 again: %+v", j)
	}

	equal(t, "reclaim before any lease expired", e.reclaim(t, "r3", 10, at(10*time.Second), at(time.Minute)), []relay.Job(nil))
	equal(t, "reclaim with limit 1", e.reclaim(t, "r3", 1, at(15*time.Second), at(45*time.Second)), []relay.Job{
		job(ids[0], "cli", "cli-1", "jose", relay.VerbStatus, "<jose><S>$", 2, t0, "r3"),
	})
	equal(t, "reclaim the rest", e.reclaim(t, "r4", 10, at(15*time.Second), at(50*time.Second)), []relay.Job{
		job(ids[2], "cli", "cli-3", "bia", relay.VerbStatus, "<bia><S>$", 2, t0, "r4"),
	})
	rows := e.inbox(t)
	want := []struct {
		state, owner string
		expires      time.Time
		attempts     int64
	}{
		{"running", "r3", at(45 * time.Second), 2},
		{"running", "r2", at(20 * time.Second), 1},
		{"running", "r4", at(50 * time.Second), 2},
		{"ready", "", time.Time{}, 0},
	}
	for i, w := range want {
		r := rows[i]
		exp := int64(0)
		if !w.expires.IsZero() {
			exp = us(w.expires)
		}
		if r.State != w.state || r.LeaseOwner != w.owner || r.LeaseExpires != exp || r.Attempts != w.attempts {
			t.Errorf("row %d = %+v, want %+v", i, r, w)
		}
	}
	// a ready row is Claim's business, never Reclaim's
	equal(t, "reclaim after", e.reclaim(t, "r5", 10, at(16*time.Second), at(time.Hour)), []relay.Job(nil))
	equal(t, "claim", e.claim(t, "r5", 10, at(16*time.Second), at(time.Hour)), []relay.Job{
		job(ids[3], "cli", "cli-4", "cid", relay.VerbStatus, "<cid><S>$", 1, t0, "r5"),
	})
}

// Release on shutdown: the commands go back untouched, as if never claimed.
func release(t *testing.T, e *env) {
	ids := e.cli(t, t0, "<jose><S>$", "<ana><S>$")
	if j := e.claim(t, "r1", 10, t0, at(time.Minute)); len(j) != 2 {
		t.Fatalf("claim r1: %+v", j)
	}
	bia := e.cli(t, t0, "<bia><S>$")
	if j := e.claim(t, "r2", 10, t0, at(time.Minute)); len(j) != 1 || j[0].ID != bia[0] {
		t.Fatalf("claim r2: %+v", j)
	}
	if err := e.Store.Release(context.Background(), "r1"); err != nil {
		t.Fatal(err)
	}
	if err := e.Store.Release(context.Background(), "nobody"); err != nil {
		t.Fatal(err)
	}
	equal(t, "inbox after release", e.inbox(t), []InboxRow{
		{ID: ids[0], Source: "cli", Ref: "cli-1", Agent: "jose", Verb: "S", Frame: "<jose><S>$", State: "ready", EnqueuedAt: us(t0)},
		{ID: ids[1], Source: "cli", Ref: "cli-2", Agent: "ana", Verb: "S", Frame: "<ana><S>$", State: "ready", EnqueuedAt: us(t0)},
		{ID: bia[0], Source: "cli", Ref: "cli-1", Agent: "bia", Verb: "S", Frame: "<bia><S>$", State: "running", Attempts: 1, LeaseOwner: "r2", LeaseExpires: us(at(time.Minute)), EnqueuedAt: us(t0)},
	})
	equal(t, "claim after release", e.claim(t, "r3", 10, at(time.Second), at(time.Minute)), []relay.Job{
		job(ids[0], "cli", "cli-1", "jose", relay.VerbStatus, "<jose><S>$", 1, t0, "r3"),
		job(ids[1], "cli", "cli-2", "ana", relay.VerbStatus, "<ana><S>$", 1, t0, "r3"),
	})
}

func extend(t *testing.T, e *env) {
	ids := e.cli(t, t0, "<jose><S>$", "<ana><S>$")
	e.claim(t, "r1", 1, t0, at(10*time.Second))
	e.claim(t, "r2", 1, t0, at(10*time.Second))
	if err := e.Store.Extend(context.Background(), "r1", at(time.Minute)); err != nil {
		t.Fatal(err)
	}
	rows := e.inbox(t)
	if rows[0].LeaseExpires != us(at(time.Minute)) || rows[1].LeaseExpires != us(at(10*time.Second)) || rows[0].Attempts != 1 {
		t.Fatalf("leases after Extend: %+v", rows)
	}
	equal(t, "reclaim at 30s", e.reclaim(t, "r3", 10, at(30*time.Second), at(time.Hour)), []relay.Job{
		job(ids[1], "cli", "cli-2", "ana", relay.VerbStatus, "<ana><S>$", 2, t0, "r3"),
	})
	equal(t, "reclaim at 61s", e.reclaim(t, "r3", 10, at(61*time.Second), at(time.Hour)), []relay.Job{
		job(ids[0], "cli", "cli-1", "jose", relay.VerbStatus, "<jose><S>$", 2, t0, "r3"),
	})
}
