package relay

import (
	"context"
	"time"
)

// Node is one running relay, a row of relay_node.
type Node struct {
	ID          string // the engine's node name (its leases: LeaseOwner(ID, incarnation))
	Host        string
	PID         int
	Version     string
	StartedAt   time.Time
	HeartbeatAt time.Time // set by Heartbeat from its now
	// Holds are the named locks (Locker) the relay held at its last
	// heartbeat, sorted: LockScheduler on the leader, LockMonitor ...
	Holds []string
}

// Nodes is relay_node, kept by each relay's heartbeat, so operators and DBAs
// see which relays are running and whether they are still alive.
type Nodes interface {
	// Heartbeat registers the node, or refreshes its row when it is already
	// there, with heartbeat_at = now and n.Holds (nil and empty alike
	// read back nil).
	Heartbeat(ctx context.Context, n Node, now time.Time) error
	// Leave removes the node's row: the relay stopped cleanly. An id that is
	// not registered is not an error.
	Leave(ctx context.Context, id string) error
	// Nodes lists the registered relays, ordered by id.
	Nodes(ctx context.Context) ([]Node, error)
}
