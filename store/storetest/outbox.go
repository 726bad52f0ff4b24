package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

func init() {
	register("ExpireOutboxByMarksJournalsEachRow", expireOutbox)
	register("ExpireOutboxNeedsAMark", expireOutboxUnmarked)
	register("LeaseHoldersByOwner", leaseHolders)
}

func testNote(o relay.ExpiredOutput) relay.Note {
	return relay.Note{Agent: "ana", Origin: "job:retention", What: relay.NoteTTOExpired, Text: fmt.Sprintf("%d %s", o.ID, o.Frame)}
}

func (e *env) expire(t *testing.T, before time.Time, limit int) []relay.ExpiredOutput {
	t.Helper()
	gone, err := e.Store.ExpireOutbox(context.Background(), relay.ExpireOutboxRequest{Before: before, Limit: limit, Now: at(time.Hour), Note: testNote})
	if err != nil {
		t.Fatalf("ExpireOutbox: %v", err)
	}
	return gone
}

func (e *env) mark(t *testing.T, now time.Time) {
	t.Helper()
	if err := e.Store.MarkOutbox(context.Background(), now); err != nil {
		t.Fatalf("MarkOutbox: %v", err)
	}
}

func (e *env) publish(t *testing.T, now time.Time, frames ...string) {
	t.Helper()
	var events []relay.Frame
	for _, s := range frames {
		f, err := relay.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, f)
	}
	if err := e.Store.Publish(context.Background(), events, now); err != nil {
		t.Fatalf("Publish: %v", err)
	}
}

func notesOf(entries []relay.JournalEntry) []relay.JournalEntry {
	var out []relay.JournalEntry
	for _, j := range entries {
		if j.Kind == relay.KindNote {
			out = append(out, j)
		}
	}
	return out
}

func expireOutbox(t *testing.T, e *env) {
	e.mark(t, t0) // T_TTO empty: nothing to mark
	e.publish(t, at(0), "<ana><E><A>$", "<ana><E><B>$", "<ana><E><C>$")
	rows := e.Tables.TTO(t)
	if len(rows) != 3 {
		t.Fatalf("T_TTO: %+v", rows)
	}
	a, b, c := rows[0], rows[1], rows[2]
	e.mark(t, at(10*time.Second))
	e.mark(t, at(30*time.Second)) // nothing new: the earlier mark says more
	e.publish(t, at(time.Minute), "<ana><E><D>$", "<ana><E><F>$")
	e.mark(t, at(time.Minute))
	e.Tables.DeleteTTO(t, b.ID) // the ERP read that one

	equal(t, "before the first mark", e.expire(t, at(5*time.Second), 10), []relay.ExpiredOutput(nil))
	// Marked at 10s: a and c (b was read), one a batch.
	equal(t, "first batch", e.expire(t, at(45*time.Second), 1), []relay.ExpiredOutput{{ID: a.ID, Frame: a.Text}})
	equal(t, "second batch", e.expire(t, at(45*time.Second), 1), []relay.ExpiredOutput{{ID: c.ID, Frame: c.Text}})
	equal(t, "third batch", e.expire(t, at(45*time.Second), 1), []relay.ExpiredOutput(nil))
	// Rows written after 10s are not older than 59s: the mark at 1m covers them.
	equal(t, "rows newer than the cut", e.expire(t, at(59*time.Second), 10), []relay.ExpiredOutput(nil))
	left := e.Tables.TTO(t)
	equal(t, "T_TTO left", texts(left), []string{"<ana><E><D>$", "<ana><E><F>$"})
	equal(t, "notes", notesOf(e.journal(t)), []relay.JournalEntry{
		{At: at(time.Hour), Direction: relay.DirOut, Kind: relay.KindNote, Agent: "ana", Frame: fmt.Sprintf("%d <ana><E><A>$", a.ID), Origin: "job:retention", Ref: relay.NoteTTOExpired},
		{At: at(time.Hour), Direction: relay.DirOut, Kind: relay.KindNote, Agent: "ana", Frame: fmt.Sprintf("%d <ana><E><C>$", c.ID), Origin: "job:retention", Ref: relay.NoteTTOExpired},
	})
	if n := relay.NoteOf(notesOf(e.journal(t))[0]); n != testNote(relay.ExpiredOutput{ID: a.ID, Frame: a.Text}) {
		t.Fatalf("NoteOf = %+v", n)
	}
	equal(t, "at 1m", e.expire(t, at(time.Minute), 10), []relay.ExpiredOutput{{ID: left[0].ID, Frame: left[0].Text}, {ID: left[1].ID, Frame: left[1].Text}})
	// A row after every mark stays, whatever the cut, until a mark covers it.
	e.publish(t, at(2*time.Minute), "<ana><E><G>$")
	equal(t, "a row no mark covers", e.expire(t, at(time.Hour), 10), []relay.ExpiredOutput(nil))
	e.mark(t, at(3*time.Minute))
	equal(t, "a row marked at 3m, cut at 2m59s", e.expire(t, at(3*time.Minute-time.Second), 10), []relay.ExpiredOutput(nil))
	if got := e.expire(t, at(3*time.Minute), 10); len(got) != 1 || got[0].Frame != "<ana><E><G>$" {
		t.Fatalf("marked at 3m, cut at 3m: %+v", got)
	}
	if n := len(notesOf(e.journal(t))); n != 5 {
		t.Fatalf("%d notes, want one per row expired (5)", n)
	}
}

func expireOutboxUnmarked(t *testing.T, e *env) {
	e.publish(t, at(0), "<ana><E><A>$")
	equal(t, "no mark", e.expire(t, at(time.Hour), 10), []relay.ExpiredOutput(nil))
	if len(e.Tables.TTO(t)) != 1 || len(notesOf(e.journal(t))) != 0 {
		t.Fatal("a row with no mark was expired")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Store.ExpireOutbox(ctx, relay.ExpireOutboxRequest{Before: at(time.Hour), Limit: 1, Now: at(time.Hour), Note: testNote}); err == nil {
		t.Fatal("ExpireOutbox with a cancelled context: no error")
	}
}

func leaseHolders(t *testing.T, e *env) {
	ctx := context.Background()
	e.cli(t, t0, "<ana><S>$", "<bob><S>$", "<cid><S>$", "<ana><L><ON>$")
	held, err := e.Store.LeaseHolders(ctx)
	if err != nil || len(held) != 0 {
		t.Fatalf("LeaseHolders with nothing leased: %+v, %v", held, err)
	}
	one := e.claim(t, "relay-a#1", 1, t0, at(time.Minute))
	two := e.claim(t, "relay-b#2", 5, t0, at(2*time.Minute))
	if len(one) != 1 || len(two) != 2 {
		t.Fatalf("claimed %d and %d", len(one), len(two))
	}
	held, err = e.Store.LeaseHolders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range held {
		held[i].Expires = held[i].Expires.UTC()
	}
	equal(t, "holders", held, []relay.LeaseHolding{
		{Owner: "relay-a#1", Commands: 1, Expires: at(time.Minute)},
		{Owner: "relay-b#2", Commands: 2, Expires: at(2 * time.Minute)},
	})
	e.settle(t, at(time.Second), relay.Outcome{Job: one[0], Kind: relay.Done})
	held, err = e.Store.LeaseHolders(ctx)
	if err != nil || len(held) != 1 || held[0].Owner != "relay-b#2" {
		t.Fatalf("after relay-a settled: %+v, %v", held, err)
	}
}
