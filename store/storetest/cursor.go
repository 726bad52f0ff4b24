package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

func init() {
	register("CursorsMoveForwardOnly", cursors)
	register("JournalSinceFiltersKinds", journalSince)
}

func cursors(t *testing.T, e *env) {
	ctx := context.Background()
	c := e.Store
	get := func(name string) (relay.Cursor, bool) {
		t.Helper()
		got, found, err := c.Cursor(ctx, name)
		if err != nil {
			t.Fatalf("Cursor(%q): %v", name, err)
		}
		got.UpdatedAt = got.UpdatedAt.UTC()
		return got, found
	}
	advance := func(now time.Time, cs ...relay.Cursor) {
		t.Helper()
		if err := c.AdvanceCursors(ctx, cs, now); err != nil {
			t.Fatalf("AdvanceCursors: %v", err)
		}
	}
	if got, found := get("socket:jose"); found || got != (relay.Cursor{}) {
		t.Fatalf("unsaved cursor = %+v, %v; want nothing", got, found)
	}
	advance(t0, relay.Cursor{Name: "socket:jose", Position: 5}, relay.Cursor{Name: "socket:ADMSOCKET", Position: 3})
	advance(at(time.Second))                                                   // nothing to save is fine
	advance(at(2*time.Second), relay.Cursor{Name: "socket:jose", Position: 4}) // backwards: ignored
	equal(t, "after moving back", first(get("socket:jose")), relay.Cursor{Name: "socket:jose", Position: 5, UpdatedAt: t0})
	advance(at(3*time.Second), relay.Cursor{Name: "socket:ADMSOCKET", Position: 3}) // the same: refreshes the time
	// One call may name a cursor twice (a batch of deliveries); the larger wins.
	advance(at(4*time.Second), relay.Cursor{Name: "socket:jose", Position: 9}, relay.Cursor{Name: "socket:jose", Position: 7})
	equal(t, "jose", first(get("socket:jose")), relay.Cursor{Name: "socket:jose", Position: 9, UpdatedAt: at(4 * time.Second)})
	equal(t, "ADMSOCKET", first(get("socket:ADMSOCKET")), relay.Cursor{Name: "socket:ADMSOCKET", Position: 3, UpdatedAt: at(3 * time.Second)})
	if _, found := get("socket:JOSE"); found {
		t.Fatal("cursor names must be exact: socket:JOSE found")
	}

	// A DBA sees them in relay_cursor.
	var rows []string
	for _, c := range e.Tables.Cursors(t) {
		rows = append(rows, fmt.Sprintf("%s %d %d", c.Name, c.Position, us(c.UpdatedAt)))
	}
	equal(t, "relay_cursor", rows, []string{
		fmt.Sprintf("socket:ADMSOCKET 3 %d", us(at(3*time.Second))),
		fmt.Sprintf("socket:jose 9 %d", us(at(4*time.Second))),
	})

	// Another relay on the same database shares them.
	if e.Open != nil {
		oc := e.Open(t)
		got, found, err := oc.Cursor(ctx, "socket:jose")
		if err != nil || !found || got.Position != 9 {
			t.Fatalf("second handle: %+v, %v, %v", got, found, err)
		}
		if err := oc.AdvanceCursors(ctx, []relay.Cursor{{Name: "socket:jose", Position: 8}}, at(5*time.Second)); err != nil {
			t.Fatal(err)
		}
		equal(t, "after a stale relay", first(get("socket:jose")), relay.Cursor{Name: "socket:jose", Position: 9, UpdatedAt: at(4 * time.Second)})
	}
}

func first[A, B any](a A, _ B) A { return a }

func journalSince(t *testing.T, e *env) {
	ctx := context.Background()
	f, h := e.Store, e.Store
	head := func() int64 {
		t.Helper()
		id, err := h.JournalHead(ctx)
		if err != nil {
			t.Fatalf("JournalHead: %v", err)
		}
		return id
	}
	if got := head(); got != 0 {
		t.Fatalf("JournalHead of an empty journal = %d", got)
	}
	ids := e.cli(t, t0, "<jose><L><ON>$", "<ana><S>$")
	e.enqueue(t, t0, relay.Inbound{Source: relay.SourceSocket, Ref: "7@127.0.0.1:5000", Raw: "<pedro><XYZ>$"})
	jobs := e.claim(t, "r1", 10, t0, at(time.Minute))
	e.settle(t, at(time.Second),
		relay.Outcome{Job: jobs[0], Kind: relay.Done, Replies: []relay.Frame{relay.OK("jose")}},
		relay.Outcome{Job: jobs[1], Kind: relay.Done, Replies: []relay.Frame{relay.StatusReply("ana", relay.StateAvailable)}})
	if err := e.Store.Publish(ctx, []relay.Frame{relay.EndCall("jose"), relay.EndCall("ana")}, at(2*time.Second)); err != nil {
		t.Fatal(err)
	}

	all := e.journal(t) // ids zeroed
	raw, err := e.Store.Journal(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if got := head(); got != raw[len(raw)-1].ID {
		t.Fatalf("JournalHead = %d, want the last id %d", got, raw[len(raw)-1].ID)
	}
	since := func(after int64, limit int, kinds ...string) []relay.JournalEntry {
		t.Helper()
		got, err := f.JournalSince(ctx, after, kinds, limit)
		if err != nil {
			t.Fatalf("JournalSince: %v", err)
		}
		var last int64
		for i := range got {
			if got[i].ID <= after || got[i].ID <= last {
				t.Fatalf("JournalSince(%d) ids out of order: %d after %d", after, got[i].ID, last)
			}
			last = got[i].ID
			got[i].ID = 0
			got[i].At = got[i].At.UTC()
		}
		return got
	}
	// The journal: 2 commands, rejected + its ERR reply, 2 replies, 2 events.
	reject := replyEntry(t0, "pedro", "<pedro><ERR><UNKNOWN_VERB><unknown verb \"XYZ\">$", "socket", "7@127.0.0.1:5000", 0, relay.OutcomeErr, 0)
	want := []relay.JournalEntry{
		reject,
		replyEntry(at(time.Second), "jose", "<jose><OK>$", "cli", "cli-1", ids[0], relay.OutcomeOK, time.Second),
		replyEntry(at(time.Second), "ana", "<ana><S><1>$", "cli", "cli-2", ids[1], relay.OutcomeOK, time.Second),
		eventEntry(at(2*time.Second), relay.EndCall("jose")),
		eventEntry(at(2*time.Second), relay.EndCall("ana")),
	}
	if len(all) != 8 {
		t.Fatalf("journal: %s", show(all))
	}
	equal(t, "replies and events", since(0, 100, relay.KindReply, relay.KindEvent), want)
	equal(t, "the same kinds twice", since(0, 100, relay.KindEvent, relay.KindReply, relay.KindEvent), want)
	equal(t, "events", since(0, 100, relay.KindEvent), want[3:])
	equal(t, "limit", since(0, 2, relay.KindReply, relay.KindEvent), want[:2])
	equal(t, "after", since(raw[5].ID, 100, relay.KindReply, relay.KindEvent), want[3:])
	equal(t, "every kind", since(0, 100), all)
	if got := since(raw[len(raw)-1].ID, 100, relay.KindEvent); len(got) != 0 {
		t.Fatalf("after the head: %s", show(got))
	}
	if got := since(0, 100, "nonsense"); len(got) != 0 {
		t.Fatalf("unknown kind: %s", show(got))
	}
}
