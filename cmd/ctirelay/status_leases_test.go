package main

import (
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

func TestStatusShowsTheLeasesEachRelayHolds(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	nodes := []relay.Node{
		{ID: "r1", Host: "h", PID: 1, Version: "v", StartedAt: now, HeartbeatAt: now, Holds: []string{relay.LockScheduler}},
		{ID: "r2", Host: "h", PID: 2, Version: "v", StartedAt: now, HeartbeatAt: now},
		{ID: "r3", Host: "h", PID: 3, Version: "v", StartedAt: now, HeartbeatAt: now},
	}
	until := now.Add(30 * time.Second)
	held := []relay.LeaseHolding{
		{Owner: "gone#9", Commands: 4, Expires: until},
		{Owner: "r1#a", Commands: 3, Expires: until},
		{Owner: "r2#b", Commands: 1, Expires: until},
		{Owner: "r2#c", Commands: 2, Expires: until},
	}
	rows := relayRows(nodes, now, time.Minute)
	others := withLeases(rows, held)
	if rows[0].InFlight != 3 || len(rows[0].Leases) != 1 || rows[0].Leases[0] != (leaseRow{"r1#a", 3, "2026-05-04T10:00:30Z"}) ||
		rows[1].InFlight != 3 || len(rows[1].Leases) != 2 || rows[2].InFlight != 0 || rows[2].Leases == nil {
		t.Fatalf("rows %+v", rows)
	}
	if len(others) != 1 || others[0].Owner != "gone#9" {
		t.Fatalf("leases without a relay: %+v", others)
	}
	for i, want := range []string{"scheduler + 3 leased", "3 leased (r2#b 1, r2#c 2)", ""} {
		if got := holdsText(rows[i]); got != want {
			t.Errorf("%s holds %q, want %q", rows[i].ID, got, want)
		}
	}
	var b strings.Builder
	if err := printRelays(&b, rows); err != nil {
		t.Fatal(err)
	}
	printOtherLeases(&b, others)
	if !strings.Contains(b.String(), "yes     scheduler + 3 leased\n") ||
		!strings.Contains(b.String(), "leased by gone#9 (no relay of that name runs): 4 commands") {
		t.Fatalf("status:\n%s", b.String())
	}
}
