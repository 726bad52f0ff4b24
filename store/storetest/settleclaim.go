package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

func init() {
	register("SettleClaimLeasesEachAgentsNext", settleClaimNext)
	register("SettleClaimLimitInIDOrder", settleClaimLimit)
	register("SettleClaimFencedLeasesNothing", settleClaimFenced)
}

// settleClaim calls Settle with a claim.
func (e *env) settleClaim(t *testing.T, now time.Time, claim relay.ClaimRequest, outcomes ...relay.Outcome) (int, []relay.Job) {
	t.Helper()
	n, jobs, err := e.Store.Settle(context.Background(), outcomes, now, claim)
	if err != nil {
		t.Fatalf("Settle with a claim: %v", err)
	}
	return n, normJobs(jobs)
}

// A finished command leaves its agent's next command at the head of the
// queue: Settle leases it in the same transaction. A retried command
// keeps its agent blocked, and an agent with nothing more gets nothing.
func settleClaimNext(t *testing.T, e *env) {
	ids := e.cli(t, t0, "<jose><L><ON>$", "<ana><S>$", "<bia><S>$", "<jose><P><ON><1>$", "<ana><D>$", "<cid><S>$", "<jose><S>$", "<cid><AC>$")
	heads := e.claim(t, "r1", 3, t0, at(time.Minute))
	if len(heads) != 3 || heads[0].ID != ids[0] || heads[1].ID != ids[1] || heads[2].ID != ids[2] {
		t.Fatalf("heads %+v", heads)
	}
	claim := relay.ClaimRequest{Owner: "r2", Limit: 10, Now: at(2 * time.Second), LeaseUntil: at(90 * time.Second)}
	n, jobs := e.settleClaim(t, at(2*time.Second), claim,
		relay.Outcome{Job: heads[0], Kind: relay.Done, Replies: []relay.Frame{relay.OK("jose")}},
		relay.Outcome{Job: heads[1], Kind: relay.Retry, NotBefore: at(time.Hour), Reason: "switch down"},
		relay.Outcome{Job: heads[2], Kind: relay.Dead, Reason: "UNSUPPORTED: no", Replies: []relay.Frame{relay.ErrReply("bia", relay.CodeUnsupported, "no")}},
	)
	if n != 3 {
		t.Fatalf("Settle with a claim applied %d, want 3", n)
	}
	equal(t, "leased by the settle", jobs, []relay.Job{
		job(ids[3], "cli", "cli-4", "jose", relay.VerbPause, "<jose><P><ON><1>$", 1, t0, "r2"),
	})
	rows := e.inbox(t)
	byID := map[int64]InboxRow{}
	for _, r := range rows {
		byID[r.ID] = r
	}
	if r := byID[ids[3]]; r.State != "running" || r.LeaseOwner != "r2" || r.LeaseExpires != us(at(90*time.Second)) || r.Attempts != 1 {
		t.Fatalf("jose's next command %+v", r)
	}
	if r := byID[ids[1]]; r.State != "ready" || r.NotBefore != us(at(time.Hour)) || r.LastError != "switch down" {
		t.Fatalf("ana's retried command %+v", r)
	}
	if _, ok := byID[ids[0]]; ok {
		t.Fatalf("jose's finished command is still in the inbox")
	}
	if len(e.dead(t)) != 1 {
		t.Fatalf("bia's command is not dead-lettered: %+v", e.dead(t))
	}
	equal(t, "the replies, as Settle writes them", e.tto(t), []string(nil)) // cli commands answer in the journal only
	// Claim finds what the settle did not lease: cid, never jose's third.
	equal(t, "claim after", e.claim(t, "r1", 10, at(3*time.Second), at(time.Minute)), []relay.Job{
		job(ids[5], "cli", "cli-6", "cid", relay.VerbStatus, "<cid><S>$", 1, t0, "r1"),
	})
	// With no room, Settle leases nothing.
	n, jobs = e.settleClaim(t, at(4*time.Second), relay.ClaimRequest{Owner: "r2", Limit: 0, Now: at(4 * time.Second), LeaseUntil: at(time.Minute)},
		relay.Outcome{Job: jobs[0], Kind: relay.Done, Replies: []relay.Frame{relay.OK("jose")}})
	if n != 1 || len(jobs) != 0 {
		t.Fatalf("SettleClaim with limit 0 = %d, %+v", n, jobs)
	}
	equal(t, "jose's third, left for Claim", e.claim(t, "r3", 10, at(5*time.Second), at(time.Minute)), []relay.Job{
		job(ids[6], "cli", "cli-7", "jose", relay.VerbStatus, "<jose><S>$", 1, t0, "r3"),
	})
}

// The limit keeps the lowest ids; the agents left over are Claim's.
func settleClaimLimit(t *testing.T, e *env) {
	ids, refs := e.intakeFrames(t, t0, "<a><S>$", "<b><S>$", "<c><S>$", "<c><D>$", "<b><D>$", "<a><D>$")
	heads := e.claim(t, "r1", 10, t0, at(time.Minute))
	if len(heads) != 3 {
		t.Fatalf("heads %+v", heads)
	}
	var outcomes []relay.Outcome
	for _, h := range heads {
		outcomes = append(outcomes, relay.Outcome{Job: h, Kind: relay.Done, Replies: []relay.Frame{relay.OK(h.Agent)}})
	}
	n, jobs := e.settleClaim(t, at(time.Second), relay.ClaimRequest{Owner: "r1", Limit: 2, Now: at(time.Second), LeaseUntil: at(time.Minute)}, outcomes...)
	if n != 3 {
		t.Fatalf("applied %d", n)
	}
	equal(t, "leased", jobs, []relay.Job{
		job(ids[3], "erp", refs[3], "c", relay.VerbHangUp, "<c><D>$", 1, t0, "r1"),
		job(ids[4], "erp", refs[4], "b", relay.VerbHangUp, "<b><D>$", 1, t0, "r1"),
	})
	equal(t, "T_TTO", e.tto(t), []string{"<a><OK>$", "<b><OK>$", "<c><OK>$"})
	equal(t, "claim", e.claim(t, "r2", 10, at(time.Second), at(time.Minute)), []relay.Job{
		job(ids[5], "erp", refs[5], "a", relay.VerbHangUp, "<a><D>$", 1, t0, "r2"),
	})
}

// An outcome for a lease taken over finishes nothing, so it unblocks
// nothing either.
func settleClaimFenced(t *testing.T, e *env) {
	ids := e.cli(t, t0, "<jose><L><ON>$", "<jose><S>$")
	old := e.claim(t, "r1", 1, t0, at(10*time.Second))
	taken := e.reclaim(t, "r2", 1, at(11*time.Second), at(time.Minute))
	if len(old) != 1 || len(taken) != 1 {
		t.Fatalf("claim %+v, reclaim %+v", old, taken)
	}
	claim := relay.ClaimRequest{Owner: "r1", Limit: 10, Now: at(12 * time.Second), LeaseUntil: at(time.Minute)}
	n, jobs := e.settleClaim(t, at(12*time.Second), claim, relay.Outcome{Job: old[0], Kind: relay.Done, Replies: []relay.Frame{relay.OK("jose")}})
	if n != 0 || len(jobs) != 0 {
		t.Fatalf("stale Settle with a claim = %d, %+v", n, jobs)
	}
	claim.Owner = "r2"
	n, jobs = e.settleClaim(t, at(13*time.Second), claim, relay.Outcome{Job: taken[0], Kind: relay.Done, Replies: []relay.Frame{relay.OK("jose")}})
	if n != 1 || len(jobs) != 1 || jobs[0].ID != ids[1] || jobs[0].Owner != "r2" {
		t.Fatalf("current Settle with a claim = %d, %+v", n, jobs)
	}
}
