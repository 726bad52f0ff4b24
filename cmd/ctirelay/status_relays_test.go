package main

import (
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

func TestRelayRowsAgeAndStaleness(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	started := now.Add(-time.Hour)
	node := func(id string, beat time.Time) relay.Node {
		return relay.Node{ID: id, Host: "app1", PID: 42, Version: "v1", StartedAt: started, HeartbeatAt: beat}
	}
	cases := []struct {
		name      string
		beat      time.Time
		wantAge   float64
		wantStale bool
		wantText  string
	}{
		{"fresh", now.Add(-2500 * time.Millisecond), 2.5, false, "3s ago"},
		{"at the limit", now.Add(-30 * time.Second), 30, false, "30s ago"},
		{"past the limit", now.Add(-31 * time.Second), 31, true, "31s ago (stale)"},
		{"clock ahead of ours", now.Add(time.Second), 0, false, "0s ago"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			rows := relayRows([]relay.Node{node("r1", c.beat)}, now, 30*time.Second)
			if len(rows) != 1 || rows[0].HeartbeatAgeS != c.wantAge || rows[0].Stale != c.wantStale ||
				rows[0].StartedAt != "2026-05-04T09:00:00Z" || rows[0].ID != "r1" || rows[0].PID != 42 {
				t.Fatalf("relayRows = %+v", rows)
			}
			var b strings.Builder
			if err := printRelays(&b, rows); err != nil {
				t.Fatal(err)
			}
			pad := func(s string) string { // the tabwriter's column: widest cell + 2
				return s + strings.Repeat(" ", max(len("LAST HEARTBEAT"), len(c.wantText))+2-len(s))
			}
			want := "\nNODE  HOST  PID  VERSION  STARTED               " + pad("LAST HEARTBEAT") + "LEADER  HOLDS\n" +
				"r1    app1  42   v1       2026-05-04T09:00:00Z  " + pad(c.wantText) + "-       -\n"
			if b.String() != want {
				t.Fatalf("printRelays:\n%q\nwant\n%q", b.String(), want)
			}
		})
	}
	// The leader: the scheduler lock, held by a relay that is not stale.
	leader := node("r1", now)
	leader.Holds = []string{relay.LockMonitor, relay.LockScheduler}
	stale := node("r2", now.Add(-time.Minute))
	stale.Holds = []string{relay.LockScheduler}
	rows := relayRows([]relay.Node{leader, stale}, now, 30*time.Second)
	if !rows[0].Leader || rows[1].Leader || strings.Join(rows[0].Holds, ",") != "monitor,scheduler" {
		t.Fatalf("leader rows: %+v", rows)
	}
	// The leader killed a moment ago still shows the lock; its successor
	// heartbeat with it after the killed one's last beat: one leader.
	killed := node("r0", now.Add(-5*time.Second))
	killed.Holds = []string{relay.LockScheduler}
	if rows := relayRows([]relay.Node{killed, leader}, now, 30*time.Second); rows[0].Leader || !rows[1].Leader {
		t.Fatalf("two relays with the lock: %+v", rows)
	}
	var b strings.Builder
	if err := printRelays(&b, rows); err != nil || !strings.Contains(b.String(), "yes     monitor,scheduler") {
		t.Fatalf("printRelays:\n%s", b.String())
	}
	b.Reset()
	if err := printRelays(&b, relayRows(nil, now, time.Second)); err != nil || b.String() != "" {
		t.Fatalf("no relays printed %q, %v", b.String(), err)
	}
}
