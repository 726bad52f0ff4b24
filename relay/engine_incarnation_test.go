package relay_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ctirelay/ctirelay/relay"
)

// A relay restarted under the same node name (kill -9, then systemd starts
// it again) settles at once what its predecessor held, as a dead relay's,
// without waiting for the leases to expire, and never touches the leases of
// another live relay unless it is the store's sole relay.
func TestEngineRestartedUnderTheSameNameSettlesItsPredecessorAtOnce(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	for _, sole := range []bool{false, true} {
		t.Run(map[bool]string{false: "shared store", true: "sole relay"}[sole], func(t *testing.T) {
			r := newRig(t, func(c *relay.EngineConfig) { c.Incarnation = "two"; c.SoleRelay = sole })
			if got := r.engine.Owner(); got != "node-a#two" {
				t.Fatalf("Owner() = %q", got)
			}
			ctx := context.Background()
			r.store.InsertTTI(0, "<jose><A><85><5551237><>$")
			r.store.InsertTTI(0, "<maria><P><ON><1>$")
			r.store.InsertTTI(0, "<bia><S>$")
			if _, _, err := r.store.Intake(ctx, relay.IntakeRequest{Limit: 10, Now: epoch}, relay.ClaimRequest{}); err != nil {
				t.Fatal(err)
			}
			// node-a's previous run took jose's dial and maria's pause and was
			// killed; node-b, alive, holds bia's status query. Every lease has
			// a minute to run: the fake clock never gets there.
			until := epoch.Add(time.Minute)
			for _, c := range []struct {
				owner string
				limit int
			}{{"node-a#one", 2}, {"node-b#x", 1}} {
				if held, err := r.store.Claim(ctx, relay.ClaimRequest{Owner: c.owner, Limit: c.limit, Now: epoch, LeaseUntil: until}); err != nil || len(held) != c.limit {
					t.Fatalf("claim for %s = %v, %v", c.owner, held, err)
				}
			}
			r.start()
			want := 2
			if sole {
				want = 3
			}
			r.until("the predecessor's commands settled", 0, func() bool { return len(r.store.TTO()) == want })
			got := r.tto()
			if !slices.Contains(got, "<maria><OK>$") {
				t.Errorf("T_TTO = %q: the idempotent pause is sent again", got)
			}
			jose := slices.IndexFunc(got, func(s string) bool { return strings.HasPrefix(s, "<jose>") })
			if jose < 0 || !strings.HasPrefix(got[jose], "<jose><ERR><IN_DOUBT>") {
				t.Errorf("T_TTO = %q: the dial its predecessor sent is in doubt", got)
			}
			if sole != slices.Contains(got, "<bia><S><1>$") {
				t.Errorf("T_TTO = %q: bia's query is another relay's, retried only by the sole relay", got)
			}
			for _, c := range r.driver.Calls() {
				if c.Verb == relay.VerbDial {
					t.Errorf("the dial reached the switch again: %v", c.Frame)
				}
			}
			dead, err := r.store.DeadLetters(ctx, 0, 10)
			if err != nil || len(dead) != 1 || dead[0].Reason != "in-doubt: relay restarted while the switch had it" {
				t.Fatalf("dead letters = %+v, %v", dead, err)
			}
			r.engine.Stop()
			// node-b's lease is neither released nor taken over.
			left, err := r.store.Reclaim(ctx, relay.ClaimRequest{Owner: "probe", Limit: 10, Now: until.Add(time.Second), LeaseUntil: until.Add(time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			if sole != (len(left) == 0) || (!sole && (len(left) != 1 || left[0].Agent != "bia" || left[0].Attempts != 2)) {
				t.Fatalf("after Stop the expired leases are %+v", left)
			}
		})
	}
}

func TestEngineRefusesANodeNameWithTheOwnerSeparator(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil)
	_, err := relay.NewEngine(relay.EngineConfig{Node: "app1#2", Store: r.store, Driver: r.driver})
	if err == nil || !strings.Contains(err.Error(), `"#"`) {
		t.Fatalf("NewEngine(node app1#2) = %v", err)
	}
}
