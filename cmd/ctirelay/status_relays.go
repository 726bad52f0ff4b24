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
	// Leader: it holds the scheduler lock and is not stale.
	Holds  []string `json:"holds"`
	Leader bool     `json:"leader"`

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
			age:           age,
		})
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
			leader, orDefault(cell(strings.Join(r.Holds, ",")), "-"))
	}
	return tw.Flush()
}
