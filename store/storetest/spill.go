package storetest

import (
	"context"
	"slices"
	"testing"

	"github.com/ctirelay/ctirelay/relay"
)

func init() {
	register("PublishOncePublishesAKeyOnce", publishOnce)
}

// A spill file is published with PublishOnce under its run's key: a start
// cut off between publishing it and removing the file publishes it again,
// and nothing must change the second time.
func publishOnce(t *testing.T, e *env) {
	ctx := context.Background()
	events := []relay.Frame{relay.NewFrame("jose", "A", "85", "5551237", ""), relay.NewFrame("jose", "G", "https://rec/1.wav"), relay.EndCall("jose")}
	const key = "spill:node-a#1"
	for i, want := range []bool{true, false} {
		got, err := e.Store.PublishOnce(ctx, key, events, at(0))
		if err != nil || got != want {
			t.Fatalf("PublishOnce #%d = %v, %v; want %v", i+1, got, err, want)
		}
	}
	wantTTO := []string{"<jose><A><85><5551237><>$", "<jose><G><https://rec/1.wav>$", "<jose><EndCall>$"}
	if got := e.tto(t); !slices.Equal(got, wantTTO) {
		t.Fatalf("T_TTO = %q, want %q once", got, wantTTO)
	}
	var journaled []string
	for _, j := range e.journal(t) {
		if j.Kind != relay.KindEvent || j.Origin != relay.OriginSwitch {
			t.Fatalf("journal entry %+v: want a switch event", j)
		}
		journaled = append(journaled, j.Frame)
	}
	if !slices.Equal(journaled, wantTTO) {
		t.Fatalf("journal = %q, want %q once", journaled, wantTTO)
	}
	// Another key publishes; a failed call records nothing.
	if got, err := e.Store.PublishOnce(ctx, "spill:node-a#2", events[2:], at(0)); err != nil || !got {
		t.Fatalf("PublishOnce of another key = %v, %v", got, err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := e.Store.PublishOnce(cancelled, "spill:node-a#3", events, at(0)); err == nil {
		t.Fatal("PublishOnce with a cancelled context succeeded")
	}
	if got, err := e.Store.PublishOnce(ctx, "spill:node-a#3", events[:1], at(0)); err != nil || !got {
		t.Fatalf("PublishOnce after a failed one = %v, %v", got, err)
	}
	if n := len(e.tto(t)); n != 5 {
		t.Fatalf("T_TTO holds %d rows, want 5", n)
	}
}
