package storetest

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

func init() {
	register("ClaimOnlyHeadOfEachAgent", claimHeads)
	register("ClaimRespectsLimitInIDOrder", claimLimit)
	register("RetryKeepsAgentBlocked", retryBlocks)
	register("ConcurrentClaimersNeverShareAnAgent", concurrentClaimers)
}

// Only the oldest unfinished command of an agent may be held; other agents
// proceed in parallel.
func claimHeads(t *testing.T, e *env) {
	ids := e.cli(t, t0, "<jose><L><ON>$", "<jose><P><ON><1>$", "<ana><S>$", "<jose><S>$", "<bia><L><ON>$")
	jobs := e.claim(t, "r1", 10, at(time.Second), at(30*time.Second))
	equal(t, "first claim", jobs, []relay.Job{
		job(ids[0], "cli", "cli-1", "jose", relay.VerbLogon, "<jose><L><ON>$", 1, t0, "r1"),
		job(ids[2], "cli", "cli-3", "ana", relay.VerbStatus, "<ana><S>$", 1, t0, "r1"),
		job(ids[4], "cli", "cli-5", "bia", relay.VerbLogon, "<bia><L><ON>$", 1, t0, "r1"),
	})
	rows := e.inbox(t)
	for _, i := range []int{0, 2, 4} {
		r := rows[i]
		if r.State != "running" || r.LeaseOwner != "r1" || r.LeaseExpires != us(at(30*time.Second)) || r.Attempts != 1 {
			t.Fatalf("claimed row %+v", r)
		}
	}
	for _, i := range []int{1, 3} {
		if r := rows[i]; r.State != "ready" || r.LeaseOwner != "" || r.Attempts != 0 {
			t.Fatalf("waiting row %+v", r)
		}
	}
	equal(t, "claim while heads are held", e.claim(t, "r2", 10, at(time.Second), at(time.Minute)), []relay.Job(nil))

	if n := e.settle(t, at(2*time.Second), relay.Outcome{Job: jobs[0], Kind: relay.Done, Replies: []relay.Frame{relay.OK("jose")}}); n != 1 {
		t.Fatalf("Settle applied %d", n)
	}
	equal(t, "claim after jose's head is done", e.claim(t, "r2", 10, at(3*time.Second), at(time.Minute)), []relay.Job{
		job(ids[1], "cli", "cli-2", "jose", relay.VerbPause, "<jose><P><ON><1>$", 1, t0, "r2"),
	})
}

func claimLimit(t *testing.T, e *env) {
	ids := e.cli(t, t0, "<c><S>$", "<a><S>$", "<b><S>$", "<a><D>$")
	got := e.claim(t, "r1", 2, t0, at(time.Minute))
	if len(got) != 2 || got[0].ID != ids[0] || got[1].ID != ids[1] {
		t.Fatalf("limit 2: %+v", got)
	}
	got = e.claim(t, "r1", 2, t0, at(time.Minute))
	if len(got) != 1 || got[0].ID != ids[2] {
		t.Fatalf("then: %+v", got)
	}
}

// A transient failure puts the command back at the head of its agent's queue
// until not_before: the agent's later commands wait, the others do not.
func retryBlocks(t *testing.T, e *env) {
	ids := e.cli(t, t0, "<jose><L><ON>$", "<jose><S>$", "<ana><S>$")
	jobs := e.claim(t, "r1", 10, t0, at(time.Minute))
	if len(jobs) != 2 {
		t.Fatalf("claimed %+v", jobs)
	}
	n := e.settle(t, at(time.Second), relay.Outcome{Job: jobs[0], Kind: relay.Retry, Reason: "switch unreachable", NotBefore: at(time.Minute)})
	if n != 1 {
		t.Fatalf("Settle applied %d", n)
	}
	equal(t, "retried row", e.inbox(t)[0], InboxRow{ID: ids[0], Source: "cli", Ref: "cli-1", Agent: "jose", Verb: "L", Frame: "<jose><L><ON>$",
		State: "ready", Attempts: 1, NotBefore: us(at(time.Minute)), EnqueuedAt: us(t0), LastError: "switch unreachable"})
	equal(t, "T_TTO", e.tto(t), []string(nil))

	equal(t, "claim before not_before", e.claim(t, "r1", 10, at(30*time.Second), at(time.Hour)), []relay.Job(nil))
	e.settle(t, at(31*time.Second), relay.Outcome{Job: jobs[1], Kind: relay.Done, Replies: []relay.Frame{relay.StatusReply("ana", relay.StateAvailable)}})
	equal(t, "claim just before not_before", e.claim(t, "r1", 10, at(time.Minute-time.Microsecond), at(time.Hour)), []relay.Job(nil))
	equal(t, "claim at not_before", e.claim(t, "r2", 10, at(time.Minute), at(time.Hour)), []relay.Job{
		job(ids[0], "cli", "cli-1", "jose", relay.VerbLogon, "<jose><L><ON>$", 2, t0, "r2"),
	})
}

// Several relays (or goroutines of one) claiming at once never hold two
// commands of one agent, and every command runs once, in its agent's order.
func concurrentClaimers(t *testing.T, e *env) {
	const agents, perAgent, workers = 6, 8, 4
	var frames []string
	for i := 0; i < perAgent; i++ {
		for a := 0; a < agents; a++ {
			frames = append(frames, fmt.Sprintf("<ag%d><P><ON><%d>$", a, i))
		}
	}
	ids := e.cli(t, t0, frames...)
	stores := make([]relay.Store, workers)
	for w := range stores {
		stores[w] = e.Store
		if e.Open != nil && w > 0 {
			stores[w] = e.Open(t)
		}
	}

	var (
		mu    sync.Mutex
		held  = map[string]int64{} // agent -> job id held right now
		order = map[string][]int64{}
		seen  = map[int64]int{}
		done  int
	)
	ctx := context.Background()
	deadline := time.Now().Add(60 * time.Second) // a safety net against a hang, not a speed check
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			owner := fmt.Sprintf("w%d", w)
			for {
				mu.Lock()
				finished := done
				mu.Unlock()
				if finished == len(ids) {
					return
				}
				if time.Now().After(deadline) {
					t.Errorf("%s: gave up with %d of %d done", owner, finished, len(ids))
					return
				}
				jobs, err := stores[w].Claim(ctx, relay.ClaimRequest{Owner: owner, Limit: 3, Now: t0, LeaseUntil: at(time.Hour)})
				if err != nil {
					t.Errorf("%s: Claim: %v", owner, err)
					return
				}
				if len(jobs) == 0 {
					runtime.Gosched()
					continue
				}
				mu.Lock()
				for _, j := range jobs {
					if other, ok := held[j.Agent]; ok {
						t.Errorf("%s claimed %d of %s while %d is held", owner, j.ID, j.Agent, other)
					}
					held[j.Agent] = j.ID
					order[j.Agent] = append(order[j.Agent], j.ID)
					seen[j.ID]++
				}
				mu.Unlock()
				outcomes := make([]relay.Outcome, len(jobs))
				mu.Lock()
				for i, j := range jobs {
					// released from the map before settling: once settled,
					// the next command of the agent may be claimed at once
					delete(held, j.Agent)
					outcomes[i] = relay.Outcome{Job: j, Kind: relay.Done, Replies: []relay.Frame{relay.OK(j.Agent)}}
				}
				mu.Unlock()
				n, _, err := stores[w].Settle(ctx, outcomes, t0, relay.ClaimRequest{})
				if err != nil || n != len(jobs) {
					t.Errorf("%s: Settle = %d, %v; want %d", owner, n, err, len(jobs))
					return
				}
				mu.Lock()
				done += n
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for _, id := range ids {
		if seen[id] != 1 {
			t.Errorf("command %d claimed %d times", id, seen[id])
		}
	}
	for a, got := range order {
		for i := 1; i < len(got); i++ {
			if got[i] <= got[i-1] {
				t.Errorf("agent %s ran %d after %d", a, got[i], got[i-1])
			}
		}
	}
	if n := len(e.inbox(t)); n != 0 {
		t.Errorf("%d commands left in the inbox", n)
	}
	replies := 0
	for _, j := range e.journal(t) {
		if j.Kind == relay.KindReply {
			replies++
		}
	}
	if replies != len(ids) {
		t.Errorf("%d replies journaled, want %d", replies, len(ids))
	}
}
