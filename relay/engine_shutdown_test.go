package relay_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ctirelay/ctirelay/relay"
)

// A stop that cuts commands off answers IN_DOUBT only for those that may
// have reached the switch. One the driver says it never sent (it was still
// waiting for its connection) is released untouched and runs at the next
// start.
func TestEngineShutdownReleasesCommandsThatWereNotSent(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	r := newRig(t, func(c *relay.EngineConfig) { c.ShutdownTimeout = 2 * time.Second })
	started := make(chan relay.Command, 3)
	r.driver.Started = started
	r.driver.Handle = func(ctx context.Context, cmd relay.Command) ([]relay.Frame, error) {
		<-ctx.Done()
		switch cmd.Login {
		case "jose": // still connecting when cut off
			return nil, relay.Transient(fmt.Errorf("connect to the switch: not sent: %w", ctx.Err()))
		case "maria": // written, no answer yet
			return nil, fmt.Errorf("wait for the answer: %w", ctx.Err())
		default: // written, connection closed on it
			return nil, relay.Transient(fmt.Errorf("connection closed: %w", relay.ErrInDoubt))
		}
	}
	for _, a := range []string{"jose", "maria", "bia"} {
		r.store.InsertTTI(0, "<"+a+"><A><85><5551237><>$")
	}
	r.start()
	for range 3 {
		<-started
	}
	stopped := make(chan struct{})
	go func() { r.engine.Stop(); close(stopped) }()
	r.until("shutdown", time.Second, func() bool {
		select {
		case <-stopped:
			return true
		default:
			return false
		}
	})
	got := r.tto()
	slices.Sort(got)
	if len(got) != 2 || !strings.HasPrefix(got[0], "<bia><ERR><IN_DOUBT>") || !strings.HasPrefix(got[1], "<maria><ERR><IN_DOUBT>") {
		t.Fatalf("T_TTO = %q: only the dials that may have reached the switch are in doubt", got)
	}
	ctx := context.Background()
	jobs, err := r.store.Claim(ctx, relay.ClaimRequest{Owner: "next#1", Limit: 10, Now: r.clock.Now(), LeaseUntil: r.clock.Now().Add(time.Minute)})
	if err != nil || len(jobs) != 1 || jobs[0].Agent != "jose" || jobs[0].Attempts != 1 {
		t.Fatalf("after shutdown the queue holds %+v (%v), want jose's dial, released untouched", jobs, err)
	}
	if dead, _ := r.store.DeadLetters(ctx, 0, 10); len(dead) != 2 {
		t.Fatalf("dead letters = %+v", dead)
	}
}

// A deadline the driver itself classified as "not sent" (it never got a
// connection to write on) is retried like any failure before the switch,
// not declared in doubt.
func TestEngineRetriesADeadlineTheDriverSaysWasNotSent(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	r := newRig(t, nil)
	calls := 0
	r.driver.Handle = func(ctx context.Context, cmd relay.Command) ([]relay.Frame, error) {
		if calls++; calls == 1 {
			return nil, relay.Transient(fmt.Errorf("connect: not sent: %w", context.DeadlineExceeded))
		}
		return []relay.Frame{relay.OK(cmd.Login)}, nil
	}
	r.store.InsertTTI(0, "<jose><A><85><5551237><>$")
	r.start()
	r.until("the dial's answer", time.Second, func() bool { return len(r.store.TTO()) == 1 })
	if got := r.tto(); got[0] != "<jose><OK>$" {
		t.Fatalf("T_TTO = %q: a dial that never reached the switch is retried", got)
	}
}
