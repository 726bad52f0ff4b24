package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// A lease belongs to one incarnation of a relay (NODE#INCARNATION), not to
// its node name: a relay restarted under the same name must never extend or
// release what its dead predecessor held, and takes it over at once instead.
func init() {
	register("ReleaseAndExtendTouchOnlyTheirIncarnation", incarnationOwnLeases)
	register("ReclaimDeadTakesEarlierIncarnations", reclaimDeadIncarnations)
	register("ReclaimDeadEveryoneTakesAllOtherLeases", reclaimDeadEveryone)
}

func (e *env) reclaimDead(t *testing.T, req relay.ReclaimDeadRequest) []relay.Job {
	t.Helper()
	jobs, err := e.Store.ReclaimDead(context.Background(), req)
	if err != nil {
		t.Fatalf("ReclaimDead: %v", err)
	}
	return normJobs(jobs)
}

func incarnationOwnLeases(t *testing.T, e *env) {
	old, cur := relay.LeaseOwner("r1", "old"), relay.LeaseOwner("r1", "new")
	ids := e.cli(t, t0, "<jose><A><85><5551237><>$", "<ana><S>$")
	if j := e.claim(t, old, 1, t0, at(10*time.Second)); len(j) != 1 || j[0].ID != ids[0] {
		t.Fatalf("claim %s: %+v", old, j)
	}
	if j := e.claim(t, cur, 1, t0, at(10*time.Second)); len(j) != 1 || j[0].ID != ids[1] {
		t.Fatalf("claim %s: %+v", cur, j)
	}
	if err := e.Store.Extend(context.Background(), cur, at(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := e.Store.Extend(context.Background(), "r1", at(time.Hour)); err != nil {
		t.Fatal(err)
	}
	rows := e.inbox(t)
	if rows[0].LeaseOwner != old || rows[0].LeaseExpires != us(at(10*time.Second)) {
		t.Fatalf("the predecessor's lease moved with Extend(%s): %+v", cur, rows[0])
	}
	if rows[1].LeaseExpires != us(at(time.Minute)) {
		t.Fatalf("own lease after Extend: %+v", rows[1])
	}
	if err := e.Store.Release(context.Background(), cur); err != nil {
		t.Fatal(err)
	}
	if err := e.Store.Release(context.Background(), "r1"); err != nil {
		t.Fatal(err)
	}
	equal(t, "inbox after Release", e.inbox(t), []InboxRow{
		{ID: ids[0], Source: "cli", Ref: "cli-1", Agent: "jose", Verb: "A", Frame: "<jose><A><85><5551237><>$", State: "running",
			Attempts: 1, LeaseOwner: old, LeaseExpires: us(at(10 * time.Second)), EnqueuedAt: us(t0)},
		{ID: ids[1], Source: "cli", Ref: "cli-2", Agent: "ana", Verb: "S", Frame: "<ana><S>$", State: "ready", EnqueuedAt: us(t0)},
	})
	// The dial its predecessor sent is not claimable: only a reclaim decides its fate.
	equal(t, "claim after Release", e.claim(t, "r2#x", 10, at(time.Second), at(time.Minute)), []relay.Job{
		job(ids[1], "cli", "cli-2", "ana", relay.VerbStatus, "<ana><S>$", 1, t0, "r2#x"),
	})
}

func reclaimDeadIncarnations(t *testing.T, e *env) {
	me := relay.LeaseOwner("r1", "new")
	frames := []string{"<a1><S>$", "<a2><A><85><5551237><>$", "<a3><S>$", "<a4><S>$", "<a5><S>$", "<a6><S>$", "<a7><S>$"}
	owners := []string{"r1#old", "r1", me, "r10#x", "r2#y", "r1#older", ""}
	ids := e.cli(t, t0, frames...)
	for i, o := range owners {
		if o == "" {
			continue
		}
		if j := e.claim(t, o, 1, t0, at(time.Minute)); len(j) != 1 || j[0].ID != ids[i] {
			t.Fatalf("claim %s: %+v", o, j)
		}
	}
	req := relay.ReclaimDeadRequest{Owner: me, Node: "r1", Limit: 1, LeaseUntil: at(2 * time.Minute)}
	// Leases a minute from expiry are taken: their relay is known dead.
	equal(t, "reclaim dead, limit 1", e.reclaimDead(t, req), []relay.Job{
		job(ids[0], "cli", "cli-1", "a1", relay.VerbStatus, frames[0], 2, t0, me),
	})
	req.Limit = 10
	equal(t, "reclaim dead, the rest", e.reclaimDead(t, req), []relay.Job{
		job(ids[1], "cli", "cli-2", "a2", relay.VerbDial, frames[1], 2, t0, me),
		job(ids[5], "cli", "cli-6", "a6", relay.VerbStatus, frames[5], 2, t0, me),
	})
	equal(t, "reclaim dead again", e.reclaimDead(t, req), []relay.Job(nil))
	rows := e.inbox(t)
	wantOwner := []string{me, me, me, "r10#x", "r2#y", me, ""}
	wantExp := []time.Time{at(2 * time.Minute), at(2 * time.Minute), at(time.Minute), at(time.Minute), at(time.Minute), at(2 * time.Minute), {}}
	for i, r := range rows {
		exp := int64(0)
		if !wantExp[i].IsZero() {
			exp = us(wantExp[i])
		}
		if r.LeaseOwner != wantOwner[i] || r.LeaseExpires != exp {
			t.Errorf("row %d (%s) = owner %q expires %d, want %q %d", i, r.Agent, r.LeaseOwner, r.LeaseExpires, wantOwner[i], exp)
		}
	}
	// The dead incarnation's answer, should it come, is fenced off.
	dead := job(ids[1], "cli", "cli-2", "a2", relay.VerbDial, frames[1], 1, t0, "r1")
	if n := e.settle(t, at(time.Second), relay.Outcome{Job: dead, Kind: relay.Done, Replies: []relay.Frame{relay.OK("a2")}}); n != 0 {
		t.Fatalf("a settle by the dead incarnation applied %d outcomes", n)
	}
}

func reclaimDeadEveryone(t *testing.T, e *env) {
	me := relay.LeaseOwner("r3", "new")
	ids := e.cli(t, t0, "<a1><S>$", "<a2><S>$", "<a3><S>$", "<a4><S>$")
	for i, o := range []string{"r1#old", me, "r2"} {
		if j := e.claim(t, o, 1, t0, at(time.Minute)); len(j) != 1 || j[0].ID != ids[i] {
			t.Fatalf("claim %s: %+v", o, j)
		}
	}
	equal(t, "reclaim dead, everyone", e.reclaimDead(t, relay.ReclaimDeadRequest{Owner: me, Node: "r3", Everyone: true, Limit: 10, LeaseUntil: at(2 * time.Minute)}), []relay.Job{
		job(ids[0], "cli", "cli-1", "a1", relay.VerbStatus, "<a1><S>$", 2, t0, me),
		job(ids[2], "cli", "cli-3", "a3", relay.VerbStatus, "<a3><S>$", 2, t0, me),
	})
	rows := e.inbox(t)
	if rows[1].LeaseOwner != me || rows[1].Attempts != 1 || rows[1].LeaseExpires != us(at(time.Minute)) {
		t.Fatalf("own lease touched: %+v", rows[1])
	}
	if rows[3].State != "ready" || rows[3].LeaseOwner != "" {
		t.Fatalf("a ready row touched: %+v", rows[3])
	}
}
