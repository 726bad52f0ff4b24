package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

func init() {
	register("SpoolBuriesRetryableDeadLetters", spoolBury)
	register("SpoolListsCursorsByPrefix", spoolCursors)
}

// A file the spool bridge purged is in relay_dead as the intake would put
// it, and `ctirelay dead retry` takes the frames that are commands.
func spoolBury(t *testing.T, e *env) {
	ctx := context.Background()
	if err := e.Store.Bury(ctx, nil, t0); err != nil {
		t.Fatalf("Bury(nothing): %v", err)
	}
	letters := []relay.DeadLetter{
		{Source: relay.SourceFile, Ref: "000001/ab12", Agent: "jose", Verb: "L", Frame: "<jose><L><ON>$", Reason: "purged at start", EnqueuedAt: at(-time.Minute)},
		{Source: relay.SourceFile, Ref: "000002/cd34", Frame: "garbage", Code: "MALFORMED", Reason: "purged at start"},
	}
	if err := e.Store.Bury(ctx, letters, t0); err != nil {
		t.Fatalf("Bury: %v", err)
	}
	got, err := e.Store.DeadLetters(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if got[i].ID == 0 {
			t.Fatalf("dead letter %d has no id", i)
		}
		got[i].ID = 0
		got[i].EnqueuedAt, got[i].DiedAt = got[i].EnqueuedAt.UTC(), got[i].DiedAt.UTC()
	}
	want := []relay.DeadLetter{
		{Source: relay.SourceFile, Ref: "000001/ab12", Agent: "jose", Verb: "L", Frame: "<jose><L><ON>$", Reason: "purged at start", EnqueuedAt: at(-time.Minute), DiedAt: t0},
		{Source: relay.SourceFile, Ref: "000002/cd34", Frame: "garbage", Code: "MALFORMED", Reason: "purged at start", EnqueuedAt: t0, DiedAt: t0},
	}
	equal(t, "relay_dead", got, want)

	raw, _ := e.Store.DeadLetters(ctx, 0, 10)
	n, err := e.Store.RetryDead(ctx, []int64{raw[0].ID, raw[1].ID}, at(time.Second))
	if err != nil || n != 1 {
		t.Fatalf("RetryDead = %d, %v; want the one with a verb", n, err)
	}
	jobs := e.claim(t, "r1", 10, at(2*time.Second), at(time.Minute))
	if len(jobs) != 1 || jobs[0].Source != relay.SourceFile || jobs[0].Ref != "000001/ab12" || jobs[0].Frame != "<jose><L><ON>$" || jobs[0].Agent != "jose" {
		t.Fatalf("claimed after retry: %+v", jobs)
	}
}

func spoolCursors(t *testing.T, e *env) {
	ctx := context.Background()
	now := t0
	if err := e.Store.AdvanceCursors(ctx, []relay.Cursor{
		{Name: "file:bind:000002:ana", Position: 7}, {Name: "file:bind:000001:jose", Position: 3},
		{Name: "file:rx:000001", Position: 9}, {Name: "file:bindx", Position: 1}, {Name: "socket:jose", Position: 2},
		{Name: "a%b", Position: 1}, {Name: "axb", Position: 1},
	}, now); err != nil {
		t.Fatal(err)
	}
	names := func(prefix string) []string {
		t.Helper()
		cs, err := e.Store.CursorsWithPrefix(ctx, prefix)
		if err != nil {
			t.Fatalf("CursorsWithPrefix(%q): %v", prefix, err)
		}
		var out []string
		for _, c := range cs {
			out = append(out, c.Name)
		}
		return out
	}
	equal(t, "file:bind:", names("file:bind:"), []string{"file:bind:000001:jose", "file:bind:000002:ana"})
	equal(t, "a%", names("a%"), []string{"a%b"}) // no pattern characters
	equal(t, "nothing", names("nope:"), []string(nil))
	cs, _ := e.Store.CursorsWithPrefix(ctx, "file:rx:")
	if len(cs) != 1 || cs[0].Position != 9 {
		t.Fatalf("file:rx: = %+v", cs)
	}
}
