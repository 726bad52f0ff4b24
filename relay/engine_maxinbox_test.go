package relay_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"go.uber.org/goleak"

	"github.com/ctirelay/ctirelay/relay"
)

// A backlog larger than MaxInbox waits in T_TTI and still drains completely,
// in order: each settle that makes room wakes the held intake (the fake clock
// never moves, so no poll can do it). One agent, one slot: the claim loop
// never finds a free slot with the agent's next command missing from a full
// inbox, so the bound is never lifted and must hold.
func TestEngineDrainsABacklogThroughABoundedInbox(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	r := newRig(t, func(c *relay.EngineConfig) {
		c.IntakeBatch, c.MaxInFlight, c.MaxInbox = 2, 1, 3
	})
	const n = 40
	for i := 1; i <= n; i++ {
		r.store.InsertTTI(0, fmt.Sprintf("<ag><P><ON><%d>$", i))
	}
	r.start()
	r.until("every reply", 0, func() bool { return len(r.store.TTO()) == n })
	if m := r.store.MaxInboxLen(); m > 3 {
		t.Fatalf("the inbox held %d commands at once, want at most 3", m)
	}
	for i, c := range r.driver.Calls() {
		if c.Arg(1) != fmt.Sprint(i+1) {
			t.Fatalf("command %d to reach the switch was %s", i+1, c.Frame)
		}
	}
}

// One agent's queue may fill the bounded inbox; the other agents' commands
// behind it in T_TTI must still reach the switch while that agent's first
// command is held there (parallel across agents).
func TestEngineBoundedInboxDoesNotBlockOtherAgents(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	release := make(chan struct{})
	r := newRig(t, func(c *relay.EngineConfig) {
		c.IntakeBatch, c.MaxInFlight, c.MaxInbox = 2, 4, 3
	})
	r.driver.Handle = func(ctx context.Context, cmd relay.Command) ([]relay.Frame, error) {
		if cmd.Login == "slow" {
			select {
			case <-release:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return []relay.Frame{relay.OK(cmd.Login)}, nil
	}
	for i := 1; i <= 6; i++ {
		r.store.InsertTTI(0, fmt.Sprintf("<slow><P><ON><%d>$", i))
	}
	r.store.InsertTTI(0, "<fast><S>$")
	r.start()
	r.until("fast's reply while slow's first command is held", 0, func() bool {
		return slices.Contains(r.tto(), "<fast><OK>$")
	})
	close(release)
	r.until("every reply", 0, func() bool { return len(r.store.TTO()) == 7 })
}
