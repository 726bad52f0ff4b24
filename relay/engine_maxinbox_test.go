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
type intakeRace struct {
	*memstore.Store
	release  chan struct{} // opened by the intake to let the switch answer
	settled  chan struct{} // a settle returned
	claims   atomic.Int32
	fullSeen atomic.Bool
}

func (s *intakeRace) Intake(ctx context.Context, req relay.IntakeRequest) (int, error) {
	n, err := s.Store.Intake(ctx, req)
	if errors.Is(err, relay.ErrInboxFull) && s.fullSeen.CompareAndSwap(false, true) {
		close(s.release)
		<-s.settled
	}
	return n, err
}

func (s *intakeRace) Claim(ctx context.Context, req relay.ClaimRequest) ([]relay.Job, error) {
	if s.claims.Add(1) > 1 {
		return nil, errors.New("claims are off in this test")
	}
	return s.Store.Claim(ctx, req)
}

func (s *intakeRace) Settle(ctx context.Context, outcomes []relay.Outcome, now time.Time) (int, error) {
	n, err := s.Store.Settle(ctx, outcomes, now)
	if err == nil {
		select {
		case s.settled <- struct{}{}:
		default:
		}
	}
	return n, err
}

// Only relay.Store: no leases at intake or settle, so the claim loop is the
// only way to the switch and the writer only settles.
type storeOnly struct{ relay.Store }

// A settle that makes room just before the intake says the inbox is full
// must not leave the intake waiting for a wake-up that came too early: it
// looks again at once (the clock never moves, so no poll would).
func TestEngineIntakeSeesRoomMadeBeforeItWaited(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	race := &intakeRace{Store: memstore.New(), release: make(chan struct{}), settled: make(chan struct{}, 1)}
	if _, err := race.Enqueue(context.Background(), []relay.Inbound{{Source: relay.SourceCLI, Ref: "1", Raw: "<a><S>$"}}, epoch, 0); err != nil {
		t.Fatal(err)
	}
	race.InsertTTI(0, "<a><P><ON><1>$")
	race.InsertTTI(0, "<a><P><ON><2>$")
	r := newRig(t, func(c *relay.EngineConfig) {
		c.Store = storeOnly{race}
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
