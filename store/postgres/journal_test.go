package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

// A follower tailing the journal by id (as bridges do) never skips a row,
// even while several relays write at once: journal ids become visible in
// order. Without the output lock a row whose transaction commits late, with
// a smaller id than rows already read, would be missed.
func TestJournalFollowerMissesNothing(t *testing.T) {
	t.Parallel()
	const writers, batches, perBatch = 4, 40, 5
	s, dsn := migrated(t, store.Options{})
	ctx := context.Background()
	t0 := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)

	var wg sync.WaitGroup
	for w := range writers {
		relayStore := open(t, dsn, store.Options{})
		wg.Go(func() {
			for b := range batches {
				events := make([]relay.Frame, perBatch)
				for i := range events {
					events[i] = relay.NewFrame(fmt.Sprintf("ag%d", w), "EndCall", fmt.Sprint(b*perBatch+i))
				}
				if err := relayStore.Publish(ctx, events, t0); err != nil {
					t.Errorf("writer %d: Publish: %v", w, err)
					return
				}
			}
		})
	}

	const total = writers * batches * perBatch
	seen := make(map[int64]bool, total)
	var after int64
	deadline := time.Now().Add(safety) // a guard against a hang, not a speed check
	for len(seen) < total && time.Now().Before(deadline) {
		entries, err := s.Journal(ctx, after, 7)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			seen[e.ID] = true
			after = e.ID
		}
	}
	wg.Wait()
	all, err := s.Journal(ctx, 0, 2*total)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != total {
		t.Fatalf("journal holds %d rows, want %d", len(all), total)
	}
	var missed []int64
	for _, e := range all {
		if !seen[e.ID] {
			missed = append(missed, e.ID)
		}
	}
	if len(missed) > 0 {
		t.Fatalf("the follower skipped %d journal rows: %v", len(missed), missed)
	}
}
