package relay_test

import (
	"fmt"
	"testing"

	"go.uber.org/goleak"

	"github.com/ctirelay/ctirelay/relay"
)

// A backlog larger than MaxInbox waits in T_TTI and still drains completely,
// in order: each settle that makes room wakes the held intake (the fake clock
// never moves, so no poll can do it).
func TestEngineDrainsABacklogThroughABoundedInbox(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	r := newRig(t, func(c *relay.EngineConfig) {
		c.IntakeBatch, c.MaxInFlight, c.MaxInbox = 2, 2, 3
	})
	const n = 40
	for i := 1; i <= n; i++ {
		r.store.InsertTTI(0, fmt.Sprintf("<ag%d><P><ON><%d>$", i%3, i))
	}
	r.start()
	r.until("every reply", 0, func() bool { return len(r.store.TTO()) == n })
	if m := r.store.MaxInboxLen(); m > 3 {
		t.Fatalf("the inbox held %d commands at once, want at most 3", m)
	}
	last := map[string]int{}
	for _, c := range r.driver.Calls() {
		var k int
		fmt.Sscan(c.Arg(1), &k)
		if k <= last[c.Login] {
			t.Fatalf("%s's command %d reached the switch after %d", c.Login, k, last[c.Login])
		}
		last[c.Login] = k
	}
}
