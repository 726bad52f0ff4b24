package storetest

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

func init() {
	register("RefusedMessagesAnsweredInAgentOrder", refusedInOrder)
}

// Tactium replies carry no request id: an ERP pairs them with its commands by
// order. A refused message whose agent has an earlier command unfinished (in
// the same batch, or already in the inbox) is held behind it and answered
// when it reaches the head of its agent's queue; one of an agent with nothing
// unfinished is answered at once, as is one nobody can be answered for.
func refusedInOrder(t *testing.T, e *env) {
	ctx := context.Background()
	dial, bad, status := "<ana><A><><40050500><>$", "<ana><Q>$", "<ana><S>$"
	ids := e.insertTTI(t, dial, bad, status, "<bob><Q>$", "<><S>$")
	ref := func(i int) string { return strconv.FormatInt(ids[i], 10) }
	if n := e.intake(t, 100, t0); n != 5 {
		t.Fatalf("Intake took %d rows, want 5", n)
	}
	badErr := &relay.ProtocolError{Code: relay.CodeUnknownVerb, Message: `unknown verb "Q"`}
	rows := e.inbox(t)
	if len(rows) != 3 || rows[0].ID >= rows[1].ID || rows[1].ID >= rows[2].ID {
		t.Fatalf("inbox %s", show(rows))
	}
	equal(t, "inbox", rows, []InboxRow{
		{ID: rows[0].ID, Source: "erp", Ref: ref(0), Agent: "ana", Verb: "A", Frame: dial, State: "ready", EnqueuedAt: us(t0)},
		{ID: rows[1].ID, Source: "erp", Ref: ref(1), Agent: "ana", Verb: string(relay.RefusedVerb(badErr)), Frame: bad, State: "ready", EnqueuedAt: us(t0)},
		{ID: rows[2].ID, Source: "erp", Ref: ref(2), Agent: "ana", Verb: "S", Frame: status, State: "ready", EnqueuedAt: us(t0)},
	})
	bobReply := `<bob><ERR><UNKNOWN_VERB><unknown verb "Q">$`
	equal(t, "T_TTO after intake: only the refusal of an idle agent", e.tto(t), []string{bobReply})
	if d := e.dead(t); len(d) != 2 || d[0].Agent != "bob" || d[1].Agent != "" || d[0].InboxID != 0 {
		t.Fatalf("relay_dead after intake: %s", show(d))
	}

	// From another source, behind ana's commands already in the inbox: a
	// refused message held, the command after it queued after it.
	got := e.enqueue(t, at(time.Second),
		relay.Inbound{Source: relay.SourceSocket, Ref: "c1", Raw: "<ana><XYZ>$"},
		relay.Inbound{Source: relay.SourceSocket, Ref: "c1", Raw: "<ana><P><OFF>$"},
		relay.Inbound{Source: relay.SourceSocket, Ref: "c2", Raw: "<cara><XYZ>$"})
	if got[0].Err != nil || got[0].ID <= rows[2].ID || got[1].Err != nil || got[1].ID <= got[0].ID {
		t.Fatalf("Enqueue behind ana's commands: %+v (its ERR must come as its reply)", got)
	}
	if got[2].ID != 0 || got[2].Err == nil || got[2].Err.Code != relay.CodeUnknownVerb {
		t.Fatalf("Enqueue for idle cara: %+v, want refused at once", got[2])
	}

	// Claim and settle ana's queue one head at a time, as the engine does.
	replies := map[string]relay.Frame{dial: relay.OK("ana"), status: relay.StatusReply("ana", relay.StateBusy), "<ana><P><OFF>$": relay.OK("ana")}
	var order []string
	for step := 2; ; step++ {
		now := at(time.Duration(step) * time.Second)
		jobs := e.claim(t, "r1", 10, now, now.Add(time.Minute))
		if len(jobs) == 0 {
			break
		}
		if len(jobs) != 1 || jobs[0].Agent != "ana" {
			t.Fatalf("claim at step %d: %+v, want ana's head only", step, jobs)
		}
		j := jobs[0]
		o, refused := relay.RefusedOutcome(j)
		if !refused {
			o = relay.Outcome{Job: j, Kind: relay.Done, Replies: []relay.Frame{replies[j.Frame]}}
		}
		order = append(order, j.Frame)
		if n := e.settle(t, now, o); n != 1 {
			t.Fatalf("settle %+v applied %d", o, n)
		}
	}
	equal(t, "ana's commands, in the order they reached the head of the queue", order,
		[]string{dial, bad, status, "<ana><XYZ>$", "<ana><P><OFF>$"})
	equal(t, "T_TTO: OK, ERR, S", e.tto(t), []string{bobReply, "<ana><OK>$", `<ana><ERR><UNKNOWN_VERB><unknown verb "Q">$`, "<ana><S><3>$"})
	equal(t, "inbox", e.inbox(t), []InboxRow(nil))

	// Dead-lettered with its reason and no verb: never retried.
	dead := e.dead(t)
	if len(dead) != 5 {
		t.Fatalf("relay_dead: %s", show(dead))
	}
	held := []DeadRow{dead[3], dead[4]}
	equal(t, "held refusals in relay_dead", held, []DeadRow{
		{ID: dead[3].ID, InboxID: rows[1].ID, Source: "erp", Ref: ref(1), Agent: "ana", Frame: bad,
			Code: relay.CodeUnknownVerb, Reason: `UNKNOWN_VERB: unknown verb "Q"`, Attempts: 1, EnqueuedAt: us(t0), DiedAt: us(at(3 * time.Second))},
		{ID: dead[4].ID, InboxID: got[0].ID, Source: "socket", Ref: "c1", Agent: "ana", Frame: "<ana><XYZ>$",
			Code: relay.CodeUnknownVerb, Reason: `UNKNOWN_VERB: unknown verb "XYZ"`, Attempts: 1, EnqueuedAt: us(at(time.Second)), DiedAt: us(at(5 * time.Second))},
	})
	if n, err := e.Store.RetryDead(ctx, []int64{dead[3].ID, dead[4].ID}, at(time.Minute)); err != nil || n != 0 {
		t.Fatalf("RetryDead of refused messages = %d, %v; want 0", n, err)
	}

	// Journaled as any refusal: the message taken, then its ERR, here in
	// its agent's order.
	var anaLog []string
	for _, j := range e.journal(t) {
		if j.Agent == "ana" {
			anaLog = append(anaLog, j.Kind+" "+j.Frame)
		}
	}
	equal(t, "ana's journal", anaLog, []string{
		"command " + dial, "rejected " + bad, "command " + status,
		"rejected <ana><XYZ>$", "command <ana><P><OFF>$",
		"reply <ana><OK>$", `reply <ana><ERR><UNKNOWN_VERB><unknown verb "Q">$`, "reply <ana><S><3>$",
		`reply <ana><ERR><UNKNOWN_VERB><unknown verb "XYZ">$`, "reply <ana><OK>$",
	})
}
