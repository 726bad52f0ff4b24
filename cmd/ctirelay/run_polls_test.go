package main

import (
	"log/slog"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store/memstore"
)

// wakingStore is a store whose wake-ups come at once (or not).
type wakingStore struct {
	relay.Store
	atOnce bool
}

func (s wakingStore) WakesAtOnce() bool { return s.atOnce }

func TestFallbackPollsLengthenOnlyWhereTheStoreWakesAtOnce(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.DiscardHandler)
	for _, tc := range []struct {
		name                 string
		atOnce               bool
		engine, feed         time.Duration
		wantEngine, wantFeed time.Duration
	}{
		{"no wake-ups: as configured", false, 100 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 50 * time.Millisecond},
		{"wakes at once: raised", true, 100 * time.Millisecond, 50 * time.Millisecond, wakePoll, feedWakePoll},
		{"wakes at once: longer kept", true, 2 * time.Second, 3 * time.Second, 2 * time.Second, 3 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, f := fallbackPolls(wakingStore{memstore.New(), tc.atOnce}, tc.engine, tc.feed, log)
			if e != tc.wantEngine || f != tc.wantFeed {
				t.Fatalf("fallbackPolls = %v, %v; want %v, %v", e, f, tc.wantEngine, tc.wantFeed)
			}
		})
	}
}
