package main

import (
	"os"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// heartbeatEvery is how often a relay refreshes its relay_node row: a third
// of its lease, the pace at which the engine renews its leases.
func heartbeatEvery(cfg Config) time.Duration {
	lease := time.Duration(cfg.Engine.Lease)
	if lease <= 0 {
		lease = relay.DefaultLease
	}
	return lease / 3
}

// staleAfter is the heartbeat age past which status calls a relay stale:
// three missed refreshes, about when its leases expire and other relays
// take its commands over.
func staleAfter(cfg Config) time.Duration { return 3 * heartbeatEvery(cfg) }

// thisNode describes the running process for relay_node.
func thisNode(id string, started time.Time) relay.Node {
	host, _ := os.Hostname()
	return relay.Node{ID: id, Host: host, PID: os.Getpid(), Version: versionString(), StartedAt: started}
}
