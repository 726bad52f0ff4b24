package relay_test

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store/memstore"
)

// claimCounter counts the jobs Claim hands out.
type claimCounter struct {
	*memstore.Store
	claimed atomic.Int64
}

func (c *claimCounter) Claim(ctx context.Context, req relay.ClaimRequest) ([]relay.Job, error) {
	jobs, err := c.Store.Claim(ctx, req)
	c.claimed.Add(int64(len(jobs)))
	return jobs, err
}

// A store that leases on intake and on settle hands an idle agent's first
// command to the engine as it arrives (unless the claim loop holds the free
// slots at that moment and takes it) and each next one with the previous
// one's answer. Every command is answered, in order per agent.
func TestEngineDispatchesWhatASettleLeased(t *testing.T) {
	for _, tt := range []struct {
		name                   string
		wrap                   func(*claimCounter) relay.Store
		minClaimed, maxClaimed int64
	}{
		{"intake and settle lease", func(c *claimCounter) relay.Store { return c }, 0, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Cleanup(func() { goleak.VerifyNone(t) })
			counter := &claimCounter{Store: memstore.New()}
			r := newRig(t, func(c *relay.EngineConfig) { c.Store = tt.wrap(counter) })
			r.store = counter.Store
			gate := make(chan struct{})
			started := make(chan relay.Command, 100)
			r.driver.Gate, r.driver.Started = gate, started
			for i := 1; i <= 5; i++ {
				r.store.InsertTTI(0, fmt.Sprintf("<jose><P><ON><%d>$", i))
				r.store.InsertTTI(0, fmt.Sprintf("<maria><P><ON><%d>$", i))
			}
			r.start()
			// Both first commands reach the switch before anything is answered.
			<-started
			<-started
			close(gate)
			r.until("ten replies", 0, func() bool { return len(r.store.TTO()) == 10 })
			if m := r.driver.MaxConcurrentPerLogin(); m != 1 {
				t.Fatalf("an agent had %d commands at the switch at once", m)
			}
			per := map[string][]string{}
			for _, c := range r.driver.Calls() {
				per[c.Login] = append(per[c.Login], c.Arg(1))
			}
			for _, agent := range []string{"jose", "maria"} {
				if want := []string{"1", "2", "3", "4", "5"}; !slices.Equal(per[agent], want) {
					t.Fatalf("%s's commands reached the switch as %v, want %v", agent, per[agent], want)
				}
			}
			if got := counter.claimed.Load(); got < tt.minClaimed || got > tt.maxClaimed {
				t.Errorf("Claim handed out %d commands, want %d to %d", got, tt.minClaimed, tt.maxClaimed)
			}
			if s := r.engine.Stats(); s.Claimed != 10 || s.Done != 10 || s.InFlight != 0 {
				t.Errorf("stats = %+v", s)
			}
		})
	}
}

// Stop while answers keep leasing the next commands: nothing starts after
// Stop has begun waiting, and what was leased but not started goes back.
func TestEngineStopsWhileSettlesLease(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	r := newRig(t, func(c *relay.EngineConfig) { c.ShutdownTimeout = 5 * time.Second })
	for i := 1; i <= 200; i++ {
		r.store.InsertTTI(0, fmt.Sprintf("<a%d><S>$", i%7))
	}
	r.start()
	r.until("some replies", 0, func() bool { return len(r.store.TTO()) >= 20 })
	r.engine.Stop()
	answered := len(r.store.TTO())
	calls := len(r.driver.Calls())
	if calls != answered {
		t.Fatalf("%d commands reached the switch, %d answered", calls, answered)
	}
	// Everything not answered is back in the queue, ready for the next start.
	jobs, err := r.store.Claim(context.Background(), relay.ClaimRequest{Owner: "next", Limit: 1000, Now: r.clock.Now(), LeaseUntil: r.clock.Now().Add(time.Minute)})
	if err != nil || (answered < 200 && len(jobs) == 0) {
		t.Fatalf("after Stop: %d answered, claim = %d jobs, %v", answered, len(jobs), err)
	}
	if n := r.store.InboxLen() + answered; n != 200 {
		t.Fatalf("inbox %d + answered %d = %d, want 200", r.store.InboxLen(), answered, n)
	}
}
