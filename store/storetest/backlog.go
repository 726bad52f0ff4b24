package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

func init() {
	register("BacklogDatesTheOldestUnreadOutput", backlog)
	register("BacklogSkipsRefusedOutputs", backlogRefused)
	register("BacklogReadsBackBacklogScanOutputsAtMost", backlogBounded)
}

func (e *env) backlog(t *testing.T, unread int64) relay.Backlog {
	t.Helper()
	b, err := e.Store.Backlog(context.Background(), unread)
	if err != nil {
		t.Fatalf("Backlog(%d): %v", unread, err)
	}
	b.TTOOldest = b.TTOOldest.UTC()
	return b
}

// The ends of T_TTI, and the journal's date of the oldest unread T_TTO row:
// the unread-th newest output, counting only what went to T_TTO.
func backlog(t *testing.T, e *env) {
	equal(t, "Backlog of empty tables", e.backlog(t, 0), relay.Backlog{})
	ids := e.insertTTI(t, "<ana><S>$", "<bob><S>$", "<cy><S>$")
	equal(t, "T_TTI's ends", e.backlog(t, 0), relay.Backlog{TTIFirst: ids[0], TTILast: ids[2]})

	e.intake(t, 10, t0)
	jobs := e.claim(t, "r1", 10, t0, at(time.Minute))
	if len(jobs) != 3 {
		t.Fatalf("claimed %+v", jobs)
	}
	var outcomes []relay.Outcome
	for _, j := range jobs {
		outcomes = append(outcomes, relay.Outcome{Job: j, Kind: relay.Done, Replies: []relay.Frame{relay.OK(j.Agent)}})
	}
	e.settle(t, at(time.Second), outcomes...) // three replies to the ERP at 1s
	e.cli(t, at(2*time.Second), "<dan><S>$")
	cli := e.claim(t, "r1", 1, at(2*time.Second), at(time.Minute))
	e.settle(t, at(2*time.Second), relay.Outcome{Job: cli[0], Kind: relay.Done, Replies: []relay.Frame{relay.OK("dan")}}) // not to T_TTO
	if err := e.Store.Publish(context.Background(), []relay.Frame{relay.EndCall("ana")}, at(3*time.Second)); err != nil {
		t.Fatal(err)
	}
	tto := e.Tables.TTO(t)
	if len(tto) != 4 {
		t.Fatalf("T_TTO: %+v", tto)
	}
	equal(t, "four unread", e.backlog(t, 4), relay.Backlog{TTOOldest: at(time.Second)})
	for _, r := range tto[:3] {
		e.Tables.DeleteTTO(t, r.ID)
	}
	equal(t, "one unread, the event", e.backlog(t, 1), relay.Backlog{TTOOldest: at(3 * time.Second)})
	equal(t, "more unread than the journal holds", e.backlog(t, 9), relay.Backlog{TTOOldest: at(time.Second), TTOAtLeast: true})
}

// An output the database refused is journaled but is not in T_TTO: it is
// not counted.
func backlogRefused(t *testing.T, e *env) {
	e.narrowOutbound(t)
	ctx := context.Background()
	if err := e.Store.Publish(ctx, []relay.Frame{relay.EndCall("ana")}, t0); err != nil {
		t.Fatal(err)
	}
	if err := e.Store.Publish(ctx, []relay.Frame{longG}, at(time.Second)); err != nil {
		t.Fatal(err)
	}
	if n := len(e.Tables.TTO(t)); n != 1 {
		t.Fatalf("T_TTO holds %d rows", n)
	}
	equal(t, "the written event", e.backlog(t, 1), relay.Backlog{TTOOldest: t0})
}

// Past relay.BacklogScan unread rows, the read stops there and says the
// oldest is older still.
func backlogBounded(t *testing.T, e *env) {
	ctx := context.Background()
	if err := e.Store.Publish(ctx, []relay.Frame{relay.EndCall("ana")}, t0); err != nil {
		t.Fatal(err)
	}
	events := make([]relay.Frame, relay.BacklogScan)
	for i := range events {
		events[i] = relay.EndCall("bob")
	}
	if err := e.Store.Publish(ctx, events, at(time.Second)); err != nil {
		t.Fatal(err)
	}
	equal(t, "every output unread", e.backlog(t, relay.BacklogScan+1), relay.Backlog{TTOOldest: at(time.Second), TTOAtLeast: true})
	equal(t, "as many unread as the bound", e.backlog(t, relay.BacklogScan), relay.Backlog{TTOOldest: at(time.Second)})
}
