package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

func init() {
	register("NodesRegisterHeartbeatAndLeave", nodes)
}

func nodes(t *testing.T, e *env) {
	ctx := context.Background()
	r := e.Store
	list := func() []relay.Node {
		t.Helper()
		got, err := r.Nodes(ctx)
		if err != nil {
			t.Fatalf("Nodes: %v", err)
		}
		return got
	}
	beat := func(n relay.Node, now time.Time) {
		t.Helper()
		if err := r.Heartbeat(ctx, n, now); err != nil {
			t.Fatalf("Heartbeat(%s): %v", n.ID, err)
		}
	}
	if got := list(); len(got) != 0 {
		t.Fatalf("Nodes of an empty store: %+v", got)
	}
	b := relay.Node{ID: "relay-b", Host: "db-host", PID: 4321, Version: "v1.2.3", StartedAt: t0}
	a := relay.Node{ID: "relay-a", Host: "app-host", PID: 1234, Version: "dev", StartedAt: at(time.Second)}
	beat(b, at(time.Second))
	beat(a, at(2*time.Second))
	beat(b, at(10*time.Second)) // a refresh moves only heartbeat_at
	wantA, wantB := a, b
	wantA.HeartbeatAt, wantB.HeartbeatAt = at(2*time.Second), at(10*time.Second)
	equal(t, "Nodes", list(), []relay.Node{wantA, wantB})
	// DBAs read the same rows from the table.
	equal(t, "relay_node", e.Tables.Nodes(t), []relay.Node{
		{ID: "relay-a", Host: "app-host", PID: 1234, Version: "dev"},
		{ID: "relay-b", Host: "db-host", PID: 4321, Version: "v1.2.3"},
	})

	// A relay restarted under the same name takes its row over.
	a2 := relay.Node{ID: "relay-a", Host: "app-host", PID: 999, Version: "v2", StartedAt: at(time.Minute)}
	beat(a2, at(time.Minute))
	wantA = a2
	wantA.HeartbeatAt = at(time.Minute)
	equal(t, "Nodes after a restart", list(), []relay.Node{wantA, wantB})

	if err := r.Leave(ctx, "relay-b"); err != nil {
		t.Fatalf("Leave: %v", err)
	}
	if err := r.Leave(ctx, "never-registered"); err != nil {
		t.Fatalf("Leave of an unknown node: %v", err)
	}
	equal(t, "Nodes after relay-b left", list(), []relay.Node{wantA})
}
