package relay_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store/memstore"
)

// dryClaims counts the claims that found nothing: after each, the engine
// may take one batch whatever the bound.
type dryClaims struct {
	*memstore.Store
	dry atomic.Int32
}

func (s *dryClaims) Claim(ctx context.Context, req relay.ClaimRequest) ([]relay.Job, error) {
	jobs, err := s.Store.Claim(ctx, req)
	if err == nil && len(jobs) == 0 {
		s.dry.Add(1)
	}
	return jobs, err
}

// A backlog larger than MaxInbox waits in T_TTI and still drains completely,
// in order: each settle that makes room wakes the held intake (the fake clock
// never moves, so no poll can do it). The inbox holds no more than the bound,
// but for one batch after each claim that found slots free and nothing ready.
func TestEngineDrainsABacklogThroughABoundedInbox(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	store := &dryClaims{Store: memstore.New()}
	r := newRig(t, func(c *relay.EngineConfig) {
		c.Store = store
		c.IntakeBatch, c.MaxInFlight, c.MaxInbox = 2, 2, 3
	})
	const n = 40
	for i := 1; i <= n; i++ {
		store.InsertTTI(0, fmt.Sprintf("<ag%d><P><ON><%d>$", i%3, i))
	}
	r.start()
	r.until("every reply", 0, func() bool { return len(store.TTO()) == n })
	if m, dry := store.MaxInboxLen(), int(store.dry.Load()); m > 3+2*dry {
		t.Fatalf("the inbox held %d commands at once, want at most 3 + 2 × %d dry claims", m, dry)
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

// intakeRace is a store on which an intake that finds the inbox full returns
// only after the relay's writer has settled a command (the room that settle
// made came before the engine knew its intake was waiting), and on which
// every claim after the first fails, so no claim can wake the intake either.
//
// The intake must find the inbox full while the command is at the switch,
// holding no in-flight slot (it would keep the claim loop from the command):
// an intake that comes before the claim, with the slot, sees T_TTI as empty
// (as if the ERP's rows were not committed yet) and is woken by the store
// once the claim has taken the slot.
type intakeRace struct {
	*memstore.Store
	release    chan struct{} // opened by the intake to let the switch answer
	settled    chan struct{} // a settle returned
	intakeWake chan struct{} // the store's intake wake-ups
	claims     atomic.Int32
	fullSeen   atomic.Bool
	early      atomic.Bool // an intake came before the claim
}

func (s *intakeRace) Intake(ctx context.Context, req relay.IntakeRequest, claim relay.ClaimRequest) (int, []relay.Job, error) {
	if claim.Limit > 0 && !s.fullSeen.Load() {
		s.early.Store(true)
		return 0, nil, nil
	}
	n, jobs, err := s.Store.Intake(ctx, req, claim)
	if errors.Is(err, relay.ErrInboxFull) && s.fullSeen.CompareAndSwap(false, true) {
		close(s.release)
		<-s.settled
	}
	return n, jobs, err
}

func (s *intakeRace) Claim(ctx context.Context, req relay.ClaimRequest) ([]relay.Job, error) {
	if s.claims.Add(1) > 1 {
		return nil, errors.New("claims are off in this test")
	}
	jobs, err := s.Store.Claim(ctx, req)
	if s.early.Load() {
		s.intakeWake <- struct{}{}
	}
	return jobs, err
}

func (s *intakeRace) Wakeups() (intake, claim <-chan struct{}) { return s.intakeWake, nil }

func (s *intakeRace) Settle(ctx context.Context, outcomes []relay.Outcome, now time.Time, claim relay.ClaimRequest) (int, []relay.Job, error) {
	n, jobs, err := s.Store.Settle(ctx, outcomes, now, claim)
	if err == nil {
		select {
		case s.settled <- struct{}{}:
		default:
		}
	}
	return n, jobs, err
}

// A settle that makes room just before the intake says the inbox is full
// must not leave the intake waiting for a wake-up that came too early: it
// looks again at once (the clock never moves, so no poll would).
func TestEngineIntakeSeesRoomMadeBeforeItWaited(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	race := &intakeRace{Store: memstore.New(), release: make(chan struct{}), settled: make(chan struct{}, 1), intakeWake: make(chan struct{}, 1)}
	if _, err := race.Enqueue(context.Background(), []relay.Inbound{{Source: relay.SourceCLI, Ref: "1", Raw: "<a><S>$"}}, epoch, 0); err != nil {
		t.Fatal(err)
	}
	race.InsertTTI(0, "<a><P><ON><1>$")
	race.InsertTTI(0, "<a><P><ON><2>$")
	r := newRig(t, func(c *relay.EngineConfig) {
		c.Store = race
		c.IntakeBatch, c.MaxInFlight, c.MaxInbox = 2, 1, 1
	})
	r.driver.Handle = func(ctx context.Context, cmd relay.Command) ([]relay.Frame, error) {
		select {
		case <-race.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return []relay.Frame{relay.StatusReply(cmd.Login, relay.StateAvailable)}, nil
	}
	r.start()
	r.until("the intake to take a row once the settle made room", 0, func() bool { return len(race.TTI()) < 2 })
}
