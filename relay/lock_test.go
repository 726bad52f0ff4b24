package relay_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest"
	"github.com/ctirelay/ctirelay/store/memstore"
)

// A LockGate waits while another relay holds the lock, trying again every
// Retry, and takes it once it is free; its end of ctx ends the wait.
func TestLockGateWaitsForTheHolder(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	store, clock := memstore.New(), relaytest.NewClock(epoch)
	gate := func() relay.LockGate {
		return relay.LockGate{Locker: store, Name: relay.LockMonitor, Retry: time.Second, Clock: clock}
	}
	_, releaseA, err := gate().Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	type acquired struct {
		lost    <-chan struct{}
		release func()
		err     error
	}
	got := make(chan acquired, 1)
	go func() {
		lost, release, err := gate().Acquire(context.Background())
		got <- acquired{lost, release, err}
	}()
	for range 3 { // B keeps trying while A holds the lock
		if !clock.WaitForWaiters(1, 10*time.Second) {
			t.Fatal("the second gate is not waiting to try again")
		}
		select {
		case <-got:
			t.Fatal("a second gate acquired a held lock")
		default:
		}
		clock.Advance(time.Second)
	}
	releaseA()
	var b acquired
	for b.release == nil {
		select {
		case b = <-got:
		case <-time.After(time.Millisecond):
			clock.Advance(time.Second)
		}
	}
	if b.err != nil {
		t.Fatal(b.err)
	}
	store.DropLocks() // its database connection dies
	select {
	case <-b.lost:
	case <-time.After(10 * time.Second):
		t.Fatal("lost not closed")
	}
	b.release()

	ctx, cancel := context.WithCancel(context.Background())
	_, releaseC, _ := gate().Acquire(ctx)
	done := make(chan error, 1)
	go func() { _, _, err := gate().Acquire(ctx); done <- err }()
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("Acquire after its context ended = %v", err)
	}
	releaseC()
}
