package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// relayRow is one relay in `ctirelay status`, as JSON and as text.
type relayRow struct {
	ID            string  `json:"id"`
	Host          string  `json:"host"`
	PID           int     `json:"pid"`
	Version       string  `json:"version"`
	StartedAt     string  `json:"started_at"`
	HeartbeatAt   string  `json:"heartbeat_at"`
	HeartbeatAgeS float64 `json:"heartbeat_age_s"`
	// Stale: no heartbeat for staleAfter. The relay died without leaving
	// (its row stays until it restarts under the same name or a DBA
	// deletes it) or cannot reach the database.
	Stale bool `json:"stale"`
	// Holds are the named locks the relay held at its last heartbeat;
	// Leader: it holds the scheduler lock, is not stale, and no relay
	// heartbeat with the lock after it (a leader killed a moment ago still
	// shows the lock until it is stale; its successor's first heartbeat
	// with the lock comes after the killed one's last).
	Holds  []string `json:"holds"`
	Leader bool     `json:"leader"`
	// Leases are the commands at the switch under the relay's leases, by
	// incarnation (relay_inbox.lease_owner NODE#INCARNATION); InFlight
	// counts them.
	Leases   []leaseRow `json:"leases"`
	InFlight int        `json:"in_flight"`

	age time.Duration
}

// relayRows ages each relay's last heartbeat against now. The heartbeat was
// written by the relay's clock: an age below zero (clocks apart) counts as 0.
func relayRows(nodes []relay.Node, now time.Time, staleAfter time.Duration) []relayRow {
	rows := make([]relayRow, 0, len(nodes))
	for _, n := range nodes {
		age := max(now.Sub(n.HeartbeatAt), 0)
		rows = append(rows, relayRow{
			ID: n.ID, Host: n.Host, PID: n.PID, Version: n.Version,
			StartedAt:     n.StartedAt.UTC().Format(time.RFC3339),
			HeartbeatAt:   n.HeartbeatAt.UTC().Format(time.RFC3339Nano),
			HeartbeatAgeS: age.Round(time.Millisecond).Seconds(),
			Stale:         age > staleAfter,
			Holds:         holds(n.Holds),
			Leader:        slices.Contains(n.Holds, relay.LockScheduler) && age <= staleAfter,
			Leases:        []leaseRow{},
			age:           age,
		})
	}
	latest := -1
	for i, r := range rows {
		if r.Leader && (latest < 0 || nodes[i].HeartbeatAt.After(nodes[latest].HeartbeatAt)) {
			latest = i
		}
	}
	for i := range rows {
		rows[i].Leader = i == latest
	}
	return rows
}

// holds is never null in JSON.
func holds(h []string) []string {
	if h == nil {
		return []string{}
	}
	return h
}

func countStale(rows []relayRow) int {
	n := 0
	for _, r := range rows {
		if r.Stale {
			n++
		}
	}
	return n
}

// printRelays lists the relays under the queue figures; nothing when none runs.
func printRelays(w io.Writer, rows []relayRow) error {
	if len(rows) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tHOST\tPID\tVERSION\tSTARTED\tLAST HEARTBEAT\tLEADER\tHOLDS")
	for _, r := range rows {
		beat := r.age.Round(time.Second).String() + " ago"
		if r.Stale {
			beat += " (stale)"
		}
		leader := "-"
		if r.Leader {
			leader = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", cell(r.ID), cell(r.Host), r.PID, cell(r.Version), r.StartedAt, beat,
			leader, orDefault(cell(holdsText(r)), "-"))
	}
	return tw.Flush()
}

// leaseRow is one incarnation's leases in `ctirelay status`.
type leaseRow struct {
	Owner     string `json:"owner"`
	Commands  int    `json:"commands"`
	ExpiresAt string `json:"expires_at"` // the latest of its leases
}

// withLeases gives each relay the inbox leases of its incarnations, and
// returns those of owners with no relay_node row (a relay that died and
// whose row was pruned, or `ctirelay send`): the next relay to start, or
// the lease's expiry, hands them over.
func withLeases(rows []relayRow, held []relay.LeaseHolding) []leaseRow {
	at := map[string]int{}
	for i, r := range rows {
		at[r.ID] = i
	}
	others := []leaseRow{}
	for _, h := range held {
		l := leaseRow{Owner: h.Owner, Commands: h.Commands, ExpiresAt: h.Expires.UTC().Format(time.RFC3339)}
		i, ok := at[relay.OwnerNode(h.Owner)]
		if !ok {
			others = append(others, l)
			continue
		}
		rows[i].Leases = append(rows[i].Leases, l)
		rows[i].InFlight += h.Commands
	}
	return others
}

// holdsText is the HOLDS column: the named locks, then the commands held
// under lease, by incarnation when a dead one of the node still holds some.
func holdsText(r relayRow) string {
	locks := strings.Join(r.Holds, ",")
	leased := ""
	switch {
	case len(r.Leases) == 1:
		leased = fmt.Sprintf("%d leased", r.InFlight)
	case len(r.Leases) > 1:
		var by []string
		for _, l := range r.Leases {
			by = append(by, fmt.Sprintf("%s %d", l.Owner, l.Commands))
		}
		leased = fmt.Sprintf("%d leased (%s)", r.InFlight, strings.Join(by, ", "))
	}
	if locks != "" && leased != "" {
		return locks + " + " + leased
	}
	return locks + leased
}

// printOtherLeases lists leases whose relay has no row.
func printOtherLeases(w io.Writer, others []leaseRow) {
	for _, l := range others {
		fmt.Fprintf(w, "leased by %s (no relay of that name runs): %d commands, until %s\n", cell(l.Owner), l.Commands, l.ExpiresAt)
	}
}
