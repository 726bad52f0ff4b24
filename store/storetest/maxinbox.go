package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

func init() {
	register("IntakeStopsAtMaxInbox", intakeMaxInbox)
}

// With MaxInbox set, intake moves only as many rows as leave that many
// commands in the inbox and says ErrInboxFull when that bound ended it with
// rows left in T_TTI (taking nothing when there is no room at all); it goes
// on once settles make room. The rest waits in T_TTI, in order.
func intakeMaxInbox(t *testing.T, e *env) {
	ctx := context.Background()
	e.insertTTI(t, "<a><S>$", "<b><S>$", "<c><S>$", "<d><S>$", "<e><S>$", "<f><S>$")
	req := relay.IntakeRequest{Limit: 10, Now: t0, MaxInbox: 4}
	take := func(step string, want int, wantErr error) {
		t.Helper()
		var claim relay.ClaimRequest
		if step == "claiming" {
			claim = relay.ClaimRequest{Owner: "r1", Limit: 10, Now: t0, LeaseUntil: t0.Add(time.Minute)}
		}
		n, jobs, err := e.Store.Intake(ctx, req, claim)
		if len(jobs) != min(n, claim.Limit) {
			t.Fatalf("%s: Intake leased %d of %d commands for idle agents", step, len(jobs), n)
		}
		if n != want || !errors.Is(err, wantErr) {
			t.Fatalf("%s: took %d rows, err %v; want %d, %v", step, n, err, want, wantErr)
		}
	}
	take("first", 4, relay.ErrInboxFull)
	equal(t, "T_TTI after the first intake", e.tti(t), []string{"<e><S>$", "<f><S>$"})
	take("full", 0, relay.ErrInboxFull)
	equal(t, "T_TTI while full", e.tti(t), []string{"<e><S>$", "<f><S>$"})

	jobs := e.claim(t, "r1", 1, t0, t0.Add(time.Minute))
	if len(jobs) != 1 || jobs[0].Agent != "a" {
		t.Fatalf("claimed %+v, want a's command", jobs)
	}
	e.settle(t, t0, relay.Outcome{Job: jobs[0], Kind: relay.Done, Replies: []relay.Frame{relay.OK("a")}})
	take("claiming", 1, relay.ErrInboxFull)
	equal(t, "T_TTI after a settle made room", e.tti(t), []string{"<f><S>$"})

	req.MaxInbox = 10 // room for more than T_TTI holds: T_TTI ended it
	take("room to spare", 1, nil)
	req.MaxInbox = 5 // no room, but nothing waits either
	take("full with T_TTI empty", 0, nil)
	req.MaxInbox = 6 // room for exactly what waits
	e.insertTTI(t, "<g><S>$")
	take("room for exactly the last row", 1, nil)
	req.MaxInbox = 0 // no bound
	take("unbounded", 0, nil)
	if got := len(e.inbox(t)); got != 6 {
		t.Fatalf("inbox holds %d commands, want 6", got)
	}
}
