package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

func init() {
	register("AbandonedCommandsAreAnsweredNotRun", abandonedNotRun)
}

func (e *env) abandon(t *testing.T, why *relay.ProtocolError, ids ...int64) int {
	t.Helper()
	n, err := e.Store.Abandon(context.Background(), ids, why)
	if err != nil {
		t.Fatalf("Abandon: %v", err)
	}
	return n
}

// A command whose requester is gone is marked in the store while it still
// waits, so whichever relay reaches it (this one, another, the next start)
// answers and dead-letters it instead of sending it; one already held by a
// relay (at the switch) is left to run.
func abandonedNotRun(t *testing.T, e *env) {
	logon, dial, dial2 := "<ana><L><ON>$", "<ana><A><85><40050777><>$", "<ana><A><85><40050778><>$"
	got := e.enqueue(t, t0,
		relay.Inbound{Source: relay.SourceSocket, Ref: "x", Raw: logon},
		relay.Inbound{Source: relay.SourceSocket, Ref: "y", Raw: dial},
		relay.Inbound{Source: relay.SourceSocket, Ref: "z", Raw: dial2})
	ids := []int64{got[0].ID, got[1].ID, got[2].ID}
	jobs := e.claim(t, "r1", 10, at(time.Second), at(time.Minute))
	if len(jobs) != 1 || jobs[0].ID != ids[0] {
		t.Fatalf("claim: %+v, want the logon", jobs)
	}
	why := relay.RequesterGone("connection closed")
	if n := e.abandon(t, why, ids[0], ids[1], 999_999); n != 1 {
		t.Fatalf("Abandon marked %d, want 1 (the logon is held, 999999 does not exist)", n)
	}
	if n := e.abandon(t, why, ids[1]); n != 0 {
		t.Fatalf("Abandon again marked %d, want 0", n)
	}
	if n := e.abandon(t, why); n != 0 {
		t.Fatalf("Abandon of nothing marked %d", n)
	}
	rows := e.inbox(t)
	if len(rows) != 3 || rows[0].Verb != "L" || rows[1].Verb != string(relay.RefusedVerb(why)) || rows[2].Verb != "A" {
		t.Fatalf("inbox after Abandon: %s", show(rows))
	}

	// The held logon runs to its end; the abandoned dial is answered, not run.
	e.settle(t, at(2*time.Second), relay.Outcome{Job: jobs[0], Kind: relay.Done, Replies: []relay.Frame{relay.OK("ana")}})
	jobs = e.claim(t, "r1", 10, at(3*time.Second), at(time.Minute))
	if len(jobs) != 1 || jobs[0].ID != ids[1] {
		t.Fatalf("claim: %+v, want the abandoned dial", jobs)
	}
	o, refused := relay.RefusedOutcome(jobs[0])
	if !refused || jobs[0].Refusal().Code != relay.CodeRequesterGone || !strings.HasPrefix(o.Reason, relay.ReasonRequesterGone+": ") {
		t.Fatalf("abandoned dial claimed as %+v (refused %v, outcome %+v)", jobs[0], refused, o)
	}
	e.settle(t, at(4*time.Second), o)
	jobs = e.claim(t, "r1", 10, at(5*time.Second), at(time.Minute))
	if len(jobs) != 1 || jobs[0].ID != ids[2] || jobs[0].Verb != relay.VerbDial {
		t.Fatalf("claim: %+v, want the dial that was not abandoned", jobs)
	}
	dead := e.dead(t)
	// With its verb: a whole command, which an operator may send again.
	if len(dead) != 1 || dead[0].InboxID != ids[1] || dead[0].Frame != dial || dead[0].Code != relay.CodeRequesterGone || dead[0].Verb != "A" ||
		!strings.HasPrefix(dead[0].Reason, relay.ReasonRequesterGone) {
		t.Fatalf("relay_dead: %s", show(dead))
	}
	var answered bool
	for _, j := range e.journal(t) {
		if j.InboxID == ids[1] && j.Kind == relay.KindReply && strings.HasPrefix(j.Frame, "<ana><ERR><"+relay.CodeRequesterGone+">") {
			answered = true
		}
	}
	if !answered {
		t.Fatalf("no ERR %s for the abandoned dial in the journal: %s", relay.CodeRequesterGone, show(e.journal(t)))
	}
	if len(e.tto(t)) != 0 {
		t.Fatalf("T_TTO: %q, want nothing (socket commands are answered on their connection)", e.tto(t))
	}
}
