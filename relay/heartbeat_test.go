package relay_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
	"github.com/ctirelay/ctirelay/store/memstore"
)

func TestHeartbeat(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	const every = 10 * time.Second
	me := relay.Node{ID: "node-a", Host: "app1", PID: 4242, Version: "v1.0.0"}
	// row is what relay_node should hold: started at epoch, last beat at beat.
	row := func(beat time.Time) []relay.Node {
		n := me
		n.StartedAt, n.HeartbeatAt = epoch, beat
		return []relay.Node{n}
	}
	down := errors.New("database down")

	cases := []struct {
		name string
		run  func(t *testing.T, s *memstore.Store, clock *relaytest.Clock, hb *relay.Heartbeat)
	}{
		{"registers at start, refreshes every period, leaves at stop", func(t *testing.T, s *memstore.Store, clock *relaytest.Clock, hb *relay.Heartbeat) {
			start(t, hb)
			wantNodes(t, s, row(epoch))
			for i := 1; i <= 3; i++ {
				tick(t, clock, every)
				waitNodes(t, s, row(epoch.Add(time.Duration(i)*every)))
			}
			hb.Stop()
			wantNodes(t, s, nil)
		}},
		{"a failed refresh is retried at the next period", func(t *testing.T, s *memstore.Store, clock *relaytest.Clock, hb *relay.Heartbeat) {
			start(t, hb)
			s.SetFail(down)
			tick(t, clock, every)
			// the loop is waiting again once the failed refresh is behind it
			tick(t, clock, 0)
			s.SetFail(nil)
			wantNodes(t, s, row(epoch))
			tick(t, clock, every)
			waitNodes(t, s, row(epoch.Add(2*every)))
			hb.Stop()
			wantNodes(t, s, nil)
		}},
		{"a failed registration fails Start and starts nothing", func(t *testing.T, s *memstore.Store, clock *relaytest.Clock, hb *relay.Heartbeat) {
			s.SetFail(down)
			if err := hb.Start(context.Background()); !errors.Is(err, down) {
				t.Fatalf("Start = %v, want %v", err, down)
			}
			s.SetFail(nil)
			hb.Stop()
			if n := clock.Waiters(); n != 0 {
				t.Fatalf("%d timers after a failed start", n)
			}
			wantNodes(t, s, nil)
		}},
		{"stop twice, concurrently", func(t *testing.T, s *memstore.Store, clock *relaytest.Clock, hb *relay.Heartbeat) {
			start(t, hb)
			start(t, hb) // a second Start is a no-op
			var wg sync.WaitGroup
			for range 3 {
				wg.Add(1)
				go func() { defer wg.Done(); hb.Stop() }()
			}
			wg.Wait()
			hb.Stop()
			wantNodes(t, s, nil)
			if err := hb.Start(context.Background()); !errors.Is(err, relay.ErrStopped) {
				t.Fatalf("Start after Stop = %v, want ErrStopped", err)
			}
			wantNodes(t, s, nil)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, clock := memstore.New(), relaytest.NewClock(epoch)
			hb, err := relay.NewHeartbeat(relay.HeartbeatConfig{Registry: s, Node: me, Every: every, Clock: clock})
			if err != nil {
				t.Fatal(err)
			}
			c.run(t, s, clock, hb)
		})
	}
}

func TestNewHeartbeatNeedsRegistryAndID(t *testing.T) {
	t.Parallel()
	for _, cfg := range []relay.HeartbeatConfig{{Node: relay.Node{ID: "a"}}, {Registry: memstore.New()}} {
		if _, err := relay.NewHeartbeat(cfg); err == nil {
			t.Errorf("NewHeartbeat(%+v) succeeded", cfg)
		}
	}
}

func start(t *testing.T, hb *relay.Heartbeat) {
	t.Helper()
	if err := hb.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hb.Stop)
}

// tick waits for the heartbeat loop to wait on the clock, then moves it by d.
func tick(t *testing.T, clock *relaytest.Clock, d time.Duration) {
	t.Helper()
	if !clock.WaitForWaiters(1, 10*time.Second) {
		t.Fatal("the heartbeat loop never waited on the clock")
	}
	clock.Advance(d)
}

func nodes(t *testing.T, s *memstore.Store) []relay.Node {
	t.Helper()
	got, err := s.Nodes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func wantNodes(t *testing.T, s *memstore.Store, want []relay.Node) {
	t.Helper()
	if got := nodes(t, s); !reflect.DeepEqual(got, want) {
		t.Fatalf("relay_node = %+v, want %+v", got, want)
	}
}

// waitNodes waits until the loop has written want (it runs on its own goroutine).
func waitNodes(t *testing.T, s *memstore.Store, want []relay.Node) {
	t.Helper()
	wait.For(t, fmt.Sprintf("relay_node = %+v", want), func() bool { return reflect.DeepEqual(nodes(t, s), want) })
}

func TestHeartbeatLifecycle(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	relaytest.StressStartStop(t, func(t *testing.T) relay.Service {
		s := memstore.New()
		hb, err := relay.NewHeartbeat(relay.HeartbeatConfig{Registry: s, Node: relay.Node{ID: "node-a"}, Clock: relaytest.NewClock(epoch)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			hb.Stop()
			wantNodes(t, s, nil) // however it stopped, it left
		})
		return hb
	})
}

// The locks held go into the row, and a change refreshes it at once.
func TestHeartbeatHoldsAndRefresh(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	s := memstore.New()
	clock := relaytest.NewClock(epoch)
	var mu sync.Mutex
	holds := []string(nil)
	refresh := make(chan struct{}, 1)
	hb, err := relay.NewHeartbeat(relay.HeartbeatConfig{Registry: s, Node: relay.Node{ID: "node-a"}, Clock: clock,
		Holds:   func() []string { mu.Lock(); defer mu.Unlock(); return holds },
		Refresh: refresh})
	if err != nil {
		t.Fatal(err)
	}
	start(t, hb)
	defer hb.Stop()
	mu.Lock()
	holds = []string{relay.LockScheduler}
	mu.Unlock()
	refresh <- struct{}{} // no clock tick: the refresh alone writes the row
	wait.For(t, "the row to show the lock", func() bool {
		nodes, _ := s.Nodes(context.Background())
		return len(nodes) == 1 && reflect.DeepEqual(nodes[0].Holds, []string{relay.LockScheduler})
	})
}
