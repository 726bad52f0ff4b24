package main

import (
	"context"
	"log/slog"
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

// forgetDeadNodes removes the relay_node rows of every other relay, for a
// relay that knows it is the only one on its database (SQLite's file lock):
// they died without leaving. Their leases the engine settles itself.
func forgetDeadNodes(ctx context.Context, reg relay.Nodes, self string, log *slog.Logger) {
	nodes, err := reg.Nodes(ctx)
	if err != nil {
		log.Warn("read relay_node", "err", err)
		return
	}
	for _, n := range nodes {
		if n.ID == self {
			continue
		}
		if err := reg.Leave(ctx, n.ID); err != nil {
			log.Warn("remove the row of a dead relay from relay_node", "node", n.ID, "err", err)
			continue
		}
		log.Info("removed the row of a dead relay from relay_node", "node", n.ID, "heartbeat_at", n.HeartbeatAt)
	}
}
