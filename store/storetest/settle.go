package storetest

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

func init() {
	register("SettleDoneAnswersInTtoAndJournal", settleDone)
	register("SettleDeadMovesToDeadLetters", settleDead)
	register("SettleNonErpRepliesOnlyJournaled", settleNonERP)
	register("SettleIsFencedByOwnerAndAttempt", settleFencing)
	register("SettleEmptyBatch", settleEmpty)
}

// intakeFrames puts frames through T_TTI and returns their inbox ids and IS_TTIs.
func (e *env) intakeFrames(t *testing.T, now time.Time, frames ...string) (ids []int64, refs []string) {
	t.Helper()
	tti := e.insertTTI(t, frames...)
	if n := e.intake(t, len(frames), now); n != len(frames) {
		t.Fatalf("Intake took %d, want %d", n, len(frames))
	}
	rows := e.inbox(t)
	rows = rows[len(rows)-len(frames):]
	for i, r := range rows {
		ids = append(ids, r.ID)
		refs = append(refs, strconv.FormatInt(tti[i], 10))
	}
	return ids, refs
}

func settleDone(t *testing.T, e *env) {
	ids, refs := e.intakeFrames(t, t0, "<jose><D>$", "<ana><P><ON><9>$")
	jobs := e.claim(t, "r1", 10, at(time.Second), at(time.Minute))
	if len(jobs) != 2 {
		t.Fatalf("claimed %+v", jobs)
	}
	n := e.settle(t, at(1500*time.Millisecond),
		relay.Outcome{Job: jobs[0], Kind: relay.Done, Replies: []relay.Frame{relay.EndCall("jose"), relay.OK("jose")}},
		relay.Outcome{Job: jobs[1], Kind: relay.Done, Replies: []relay.Frame{relay.ErrReply("ana", relay.CodeRejected, "no such pause code")}},
	)
	if n != 2 {
		t.Fatalf("Settle applied %d, want 2", n)
	}
	equal(t, "inbox", e.inbox(t), []InboxRow(nil))
	equal(t, "relay_dead", e.dead(t), []DeadRow(nil))
	equal(t, "T_TTO", e.tto(t), []string{"<jose><EndCall>$", "<jose><OK>$", "<ana><ERR><REJECTED><no such pause code>$"})
	lat := 1500 * time.Millisecond
	equal(t, "journal", e.journal(t), []relay.JournalEntry{
		cmdEntry(t0, "jose", "<jose><D>$", "erp", refs[0], ids[0]),
		cmdEntry(t0, "ana", "<ana><P><ON><9>$", "erp", refs[1], ids[1]),
		replyEntry(at(lat), "jose", "<jose><EndCall>$", "erp", refs[0], ids[0], relay.OutcomeOK, lat),
		replyEntry(at(lat), "jose", "<jose><OK>$", "erp", refs[0], ids[0], relay.OutcomeOK, lat),
		replyEntry(at(lat), "ana", "<ana><ERR><REJECTED><no such pause code>$", "erp", refs[1], ids[1], relay.OutcomeErr, lat),
	})
}

func settleDead(t *testing.T, e *env) {
	ids, refs := e.intakeFrames(t, t0, "<jose><A><85><40050500><>$", "<ana><TR><17/08/2010 15:00><><>$")
	jobs := e.claim(t, "r1", 10, at(time.Second), at(time.Minute))
	errFrame := relay.ErrReply("jose", relay.CodeInDoubt, "the relay stopped while dialling")
	n := e.settle(t, at(2*time.Second),
		relay.Outcome{Job: jobs[0], Kind: relay.Dead, Reason: "in-doubt", Replies: []relay.Frame{errFrame}},
		relay.Outcome{Job: jobs[1], Kind: relay.Dead, Reason: "dropped by an operator"},
	)
	if n != 2 {
		t.Fatalf("Settle applied %d, want 2", n)
	}
	equal(t, "inbox", e.inbox(t), []InboxRow(nil))
	dead := e.dead(t)
	if len(dead) != 2 {
		t.Fatalf("relay_dead: %s", show(dead))
	}
	equal(t, "relay_dead", dead, []DeadRow{
		{ID: dead[0].ID, InboxID: ids[0], Source: "erp", Ref: refs[0], Agent: "jose", Verb: "A", Frame: "<jose><A><85><40050500><>$",
			Code: relay.CodeInDoubt, Reason: "in-doubt", Attempts: 1, EnqueuedAt: us(t0), DiedAt: us(at(2 * time.Second))},
		// no ERR reply: no code
		{ID: dead[1].ID, InboxID: ids[1], Source: "erp", Ref: refs[1], Agent: "ana", Verb: "TR", Frame: "<ana><TR><17/08/2010 15:00><><>$",
			Reason: "dropped by an operator", Attempts: 1, EnqueuedAt: us(t0), DiedAt: us(at(2 * time.Second))},
	})
	equal(t, "T_TTO", e.tto(t), []string{errFrame.String()})
	j := e.journal(t)
	equal(t, "journal", j[2:], []relay.JournalEntry{
		replyEntry(at(2*time.Second), "jose", errFrame.String(), "erp", refs[0], ids[0], relay.OutcomeErr, 2*time.Second),
	})

	letters, err := e.Store.DeadLetters(context.Background(), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	for i := range letters {
		letters[i].EnqueuedAt, letters[i].DiedAt = letters[i].EnqueuedAt.UTC(), letters[i].DiedAt.UTC()
	}
	equal(t, "DeadLetters", letters, []relay.DeadLetter{
		{ID: dead[0].ID, InboxID: ids[0], Source: "erp", Ref: refs[0], Agent: "jose", Verb: relay.VerbDial, Frame: "<jose><A><85><40050500><>$",
			Code: relay.CodeInDoubt, Reason: "in-doubt", Attempts: 1, EnqueuedAt: t0, DiedAt: at(2 * time.Second)},
		{ID: dead[1].ID, InboxID: ids[1], Source: "erp", Ref: refs[1], Agent: "ana", Verb: relay.VerbCallback, Frame: "<ana><TR><17/08/2010 15:00><><>$",
			Reason: "dropped by an operator", Attempts: 1, EnqueuedAt: t0, DiedAt: at(2 * time.Second)},
	})
}

// Replies to commands from bridges go back through the journal only: the
// bridge answers its own client, and the ERP must not see them.
func settleNonERP(t *testing.T, e *env) {
	got := e.enqueue(t, t0,
		relay.Inbound{Source: relay.SourceSocket, Ref: "conn-1", Raw: "<jose><S>$"},
		relay.Inbound{Source: relay.SourceHTTP, Ref: "req-9", Raw: "<ana><A><><40050500><>$"},
	)
	jobs := e.claim(t, "r1", 10, t0, at(time.Minute))
	if len(jobs) != 2 || jobs[0].Source != "socket" || jobs[0].Ref != "conn-1" || jobs[1].Source != "http" {
		t.Fatalf("claimed %+v", jobs)
	}
	errFrame := relay.ErrReply("ana", relay.CodeRetriesExhausted, "switch unreachable")
	n := e.settle(t, at(time.Second),
		relay.Outcome{Job: jobs[0], Kind: relay.Done, Replies: []relay.Frame{relay.StatusReply("jose", relay.StateAvailable)}},
		relay.Outcome{Job: jobs[1], Kind: relay.Dead, Reason: "retries exhausted", Replies: []relay.Frame{errFrame}},
	)
	if n != 2 {
		t.Fatalf("Settle applied %d", n)
	}
	equal(t, "T_TTO", e.tto(t), []string(nil))
	equal(t, "journal replies", e.journal(t)[2:], []relay.JournalEntry{
		replyEntry(at(time.Second), "jose", "<jose><S><1>$", "socket", "conn-1", got[0].ID, relay.OutcomeOK, time.Second),
		replyEntry(at(time.Second), "ana", errFrame.String(), "http", "req-9", got[1].ID, relay.OutcomeErr, time.Second),
	})
	dead := e.dead(t)
	if len(dead) != 1 || dead[0].Source != "http" || dead[0].Ref != "req-9" || dead[0].Code != relay.CodeRetriesExhausted {
		t.Fatalf("relay_dead: %s", show(dead))
	}
}

// A relay whose lease was taken over must not settle the command: owner and
// attempt number both fence it.
func settleFencing(t *testing.T, e *env) {
	e.intakeFrames(t, t0, "<jose><L><ON>$")
	old := e.claim(t, "r1", 1, t0, at(10*time.Second))
	taken := e.reclaim(t, "r2", 1, at(11*time.Second), at(time.Minute))
	if len(old) != 1 || len(taken) != 1 || taken[0].Owner != "r2" || taken[0].Attempts != 2 {
		t.Fatalf("claim %+v, reclaim %+v", old, taken)
	}
	staleAttempt := taken[0]
	staleAttempt.Attempts = 1
	for _, stale := range []relay.Job{old[0], staleAttempt} {
		for _, kind := range []relay.OutcomeKind{relay.Done, relay.Retry, relay.Dead} {
			n := e.settle(t, at(12*time.Second), relay.Outcome{Job: stale, Kind: kind, Reason: "late", NotBefore: at(time.Hour), Replies: []relay.Frame{relay.OK("jose")}})
			if n != 0 {
				t.Fatalf("stale %+v settled as %v: applied %d", stale, kind, n)
			}
		}
	}
	rows := e.inbox(t)
	if len(rows) != 1 || rows[0].State != "running" || rows[0].LeaseOwner != "r2" || rows[0].Attempts != 2 || rows[0].LastError != "" {
		t.Fatalf("row after stale settles: %+v", rows)
	}
	equal(t, "T_TTO after stale settles", e.tto(t), []string(nil))
	if len(e.dead(t)) != 0 || len(e.journal(t)) != 1 {
		t.Fatalf("stale settles left traces")
	}

	// a batch mixing stale and current outcomes applies the current one only
	n := e.settle(t, at(13*time.Second),
		relay.Outcome{Job: old[0], Kind: relay.Done, Replies: []relay.Frame{relay.OK("stale")}},
		relay.Outcome{Job: taken[0], Kind: relay.Done, Replies: []relay.Frame{relay.OK("jose")}},
	)
	if n != 1 {
		t.Fatalf("mixed batch applied %d, want 1", n)
	}
	if n := e.settle(t, at(14*time.Second), relay.Outcome{Job: taken[0], Kind: relay.Done, Replies: []relay.Frame{relay.OK("jose")}}); n != 0 {
		t.Fatalf("settling twice applied %d", n)
	}
	equal(t, "T_TTO", e.tto(t), []string{"<jose><OK>$"})
	equal(t, "inbox", e.inbox(t), []InboxRow(nil))

	// released and claimed again: same attempt number, another owner
	e.intakeFrames(t, t0, "<ana><S>$")
	first := e.claim(t, "r1", 1, t0, at(time.Minute))
	if err := e.Store.Release(context.Background(), "r1"); err != nil {
		t.Fatal(err)
	}
	second := e.claim(t, "r2", 1, t0, at(time.Minute))
	if len(first) != 1 || len(second) != 1 || first[0].Attempts != second[0].Attempts {
		t.Fatalf("claims %+v then %+v", first, second)
	}
	for _, kind := range []relay.OutcomeKind{relay.Done, relay.Retry, relay.Dead} {
		if n := e.settle(t, t0, relay.Outcome{Job: first[0], Kind: kind, Replies: []relay.Frame{relay.OK("ana")}}); n != 0 {
			t.Fatalf("the releasing owner settled as %v: applied %d", kind, n)
		}
	}
	if n := e.settle(t, t0, relay.Outcome{Job: second[0], Kind: relay.Done, Replies: []relay.Frame{relay.OK("ana")}}); n != 1 {
		t.Fatalf("current owner: applied %d", n)
	}
	equal(t, "T_TTO at the end", e.tto(t), []string{"<jose><OK>$", "<ana><OK>$"})
}

func settleEmpty(t *testing.T, e *env) {
	if n := e.settle(t, t0); n != 0 {
		t.Fatalf("empty Settle applied %d", n)
	}
	if err := e.Store.Publish(context.Background(), nil, t0); err != nil {
		t.Fatalf("empty Publish: %v", err)
	}
	if got := e.enqueue(t, t0); len(got) != 0 {
		t.Fatalf("empty Enqueue: %+v", got)
	}
	if n := e.intake(t, 10, t0); n != 0 {
		t.Fatalf("Intake of an empty table took %d", n)
	}
}
