package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

func init() {
	register("NotesAreJournaledInOrderAndNeverReachTTO", notesJournaled)
	register("NotesOfACancelledCallAreNotWritten", notesCancelled)
}

func noteEntry(now time.Time, n relay.Note) relay.JournalEntry {
	return relay.JournalEntry{At: now, Direction: relay.DirOut, Kind: relay.KindNote, Agent: n.Agent, Frame: n.Text, Origin: n.Origin, Ref: n.What}
}

// A note takes its place in the journal among the messages, comes back as
// it was written (the widest origin a dialect allows, text in any script),
// is read by the kinds filter like any other kind, and is never an output
// for the ERP.
func notesJournaled(t *testing.T, e *env) {
	ctx := context.Background()
	if err := e.Store.Note(ctx, nil, t0); err != nil {
		t.Fatalf("Note(nothing): %v", err)
	}
	ev := relay.Frame{"ana", "R", "7", "11", "999", "", "", "", ""}
	if err := e.Store.Publish(ctx, []relay.Frame{ev}, t0); err != nil {
		t.Fatal(err)
	}
	notes := []relay.Note{
		{Agent: "ana", Origin: "crm", What: "pop-suppressed", Text: "rule exceptions: caller 0388202122 is an exception number"},
		{Origin: "job:agent-sync16", What: "state-differs", Text: "switch: logged-off; relay last saw available — ação, 呼叫"},
	}
	if err := e.Store.Note(ctx, notes, at(time.Second)); err != nil {
		t.Fatalf("Note: %v", err)
	}
	ids := e.cli(t, at(2*time.Second), "<ana><S>$")
	want := []relay.JournalEntry{
		eventEntry(t0, ev),
		noteEntry(at(time.Second), notes[0]),
		noteEntry(at(time.Second), notes[1]),
		cmdEntry(at(2*time.Second), "ana", "<ana><S>$", relay.SourceCLI, "cli-1", ids[0]),
	}
	equal(t, "journal", e.journal(t), want)

	only, err := e.Store.JournalSince(ctx, 0, []string{relay.KindNote}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(only) != 2 || relay.NoteOf(only[0]) != notes[0] || relay.NoteOf(only[1]) != notes[1] {
		t.Fatalf("JournalSince(note) = %+v", only)
	}
	others, err := e.Store.JournalSince(ctx, 0, []string{relay.KindEvent, relay.KindCommand}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(others) != 2 {
		t.Fatalf("JournalSince(event, command) = %+v; want no notes", others)
	}
	equal(t, "T_TTO", e.tto(t), []string{ev.String()})
}

func notesCancelled(t *testing.T, e *env) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := e.Store.Note(ctx, []relay.Note{{Agent: "ana", Origin: "crm", What: "x", Text: "y"}}, t0); err == nil {
		t.Fatal("Note with a cancelled context succeeded")
	}
	if n := len(e.journal(t)); n != 0 {
		t.Fatalf("journal has %d rows after a cancelled Note", n)
	}
}
