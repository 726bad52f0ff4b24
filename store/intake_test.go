package store_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

// IntakeSteps.Run takes what the inbox's bound leaves room for, and says
// full only when the bound, not T_TTI, ended the take.
func TestIntakeStepsRun(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	for _, tt := range []struct {
		name            string
		limit, maxInbox int
		depth, tti      int // rows in the inbox and in T_TTI
		depthErr        error
		wantTake        int // the limit Take is asked for
		wantTaken       int
		full            bool
		err             error
	}{
		{name: "unbounded", limit: 10, tti: 4, wantTake: 10, wantTaken: 4},
		{name: "room enough", limit: 10, maxInbox: 100, depth: 50, tti: 20, wantTake: 10, wantTaken: 10},
		{name: "bound ends the take", limit: 10, maxInbox: 100, depth: 95, tti: 20, wantTake: 5, wantTaken: 5, full: true},
		{name: "T_TTI ends it under the bound", limit: 10, maxInbox: 100, depth: 95, tti: 5, wantTake: 5, wantTaken: 5},
		{name: "inbox over its bound", limit: 10, maxInbox: 100, depth: 120, tti: 3, wantTake: 0, wantTaken: 0, full: true},
		{name: "depth fails", limit: 10, maxInbox: 100, depthErr: boom, err: boom},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var asked int
			var admitted []relay.Inbound
			tti := make([]relay.Inbound, tt.tti)
			taken, jobs, full, err := store.IntakeSteps{
				Depth: func(max int) (int, error) {
					if max != tt.maxInbox {
						t.Errorf("Depth(%d), want up to %d", max, tt.maxInbox)
					}
					return tt.depth, tt.depthErr
				},
				Take: func(limit int) ([]relay.Inbound, error) {
					asked = limit
					n := min(limit, len(tti))
					out := tti[:n]
					tti = tti[n:]
					return out, nil
				},
				More:  func() (bool, error) { return len(tti) > 0, nil },
				Admit: func(msgs []relay.Inbound) ([]relay.Job, error) { admitted = msgs; return []relay.Job{{ID: 1}}, nil },
			}.Run(relay.IntakeRequest{Limit: tt.limit, MaxInbox: tt.maxInbox})
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			if asked != tt.wantTake || taken != tt.wantTaken || full != tt.full || len(admitted) != taken || !slices.Equal(jobs, []relay.Job{{ID: 1}}) {
				t.Errorf("take(%d) → taken %d, full %v, admitted %d, jobs %v; want take(%d) → %d, full %v",
					asked, taken, full, len(admitted), jobs, tt.wantTake, tt.wantTaken, tt.full)
			}
		})
	}
}
