package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
)

// activeRelays lists the relays that have taken the switch:epbx lock (and
// so claim commands and hold agent connections) since they started.
func activeRelays(relays []*relayProc) []int {
	var out []int
	for i, p := range relays {
		if strings.Contains(p.logText(), "active relay of the switch") {
			out = append(out, i)
		}
	}
	return out
}

// TestE2EEPBXSharedSwitch: two relays on one PostgreSQL and one
// `ctirelay sim --epbx`. Only the holder of the switch:epbx lock runs
// commands and holds jose's connection, so each of the hub's events is
// journaled once. The active relay is killed with kill -9 while jose is
// paused, and the hub forgets its connection (so jose is logged off there);
// the other takes the lock, logs jose on again with his pause before any
// command of his (from what the dead relay saved in relay_cursor) and
// serves him.
func TestE2EEPBXSharedSwitch(t *testing.T) { // not parallel: t.Setenv passes the password to the relays
	tactiumAddr, epbxAddr := freeAddr(t), freeAddr(t)
	sim := startEPBXSim(t, tactiumAddr, epbxAddr)
	t.Setenv("CTIRELAY_TEST_EPBX_PASSWORD", "jose-secret-pw")
	r := newPGRig(t, epbxRelayConfig(epbxAddr, sharedRelayConfig))
	relays := r.relays(2)
	t.Cleanup(func() {
		if t.Failed() {
			for i, p := range relays {
				t.Logf("relay %d log:\n%s", i, p.logText())
			}
		}
	})
	wait.Within(t, 30*time.Second, "one relay to take the switch", func() bool { return len(activeRelays(relays)) >= 1 })
	active := activeRelays(relays)[0]
	standby := 1 - active

	id := 0
	insert := func(frames ...string) {
		t.Helper()
		for _, f := range frames {
			id++
			if _, err := r.db.Exec(`INSERT INTO T_TTI VALUES ($1, $2)`, id, f); err != nil {
				t.Fatal(err)
			}
		}
	}
	events := func(prefix string) int {
		return count(t, r.db, "SELECT count(*) FROM relay_journal WHERE kind = 'event' AND frame LIKE '"+prefix+"%'")
	}
	insert("<jose><L><ON>$", "<jose><A><11><40050500><>$")
	wait.Within(t, 30*time.Second, "the call's A and G", func() bool { return events("<jose><A><") >= 1 && events("<jose><G><") >= 1 })
	insert("<jose><D>$", "<jose><P><ON><2>$", "<jose><P><OFF>$")
	wait.Within(t, 30*time.Second, "every answer", func() bool { return r.replies() >= 5 })
	if a, g := events("<jose><A><"), events("<jose><G><"); a != 1 || g != 1 {
		t.Fatalf("journaled %d A and %d G events for one call, want one each", a, g)
	}
	if m := activeRelays(relays); !slices.Equal(m, []int{active}) {
		t.Fatalf("active relays %v, want only %d", m, active)
	}
	if n := len(relays[standby].dispatches()); n != 0 {
		t.Fatalf("the standby relay sent %d commands to the switch", n)
	}
	insert("<jose><P><ON><2>$")
	wait.Within(t, 30*time.Second, "jose paused", func() bool { return r.replies() >= 6 })

	// kill -9: the lock goes with its database connection; the hub forgets
	// the dead relay's connection (not waiting its DisconnectTimeout), which
	// logs jose off there. The other relay takes the lock and, unasked,
	// logs jose on again, paused.
	relays[active].kill()
	sim.control(t, "forget")
	wait.Within(t, 30*time.Second, "the standby relay to take the switch", func() bool {
		return len(activeRelays(relays[standby:standby+1])) == 1
	})
	wait.Within(t, 30*time.Second, "jose logged on again at the switch, paused", func() bool {
		return sim.tactiumFrame(t, "<jose><S>$") == "<jose><S><2>$"
	})
	if n := len(relays[standby].dispatches()); n != 0 {
		t.Fatalf("the new active relay dispatched %d commands before any was sent", n)
	}
	wait.Within(t, 10*time.Second, "a note of the re-logon in the journal", func() bool {
		return count(t, r.db, "SELECT count(*) FROM relay_journal WHERE kind = 'note' AND agent = 'jose' AND source_ref = 'relogon'") == 1
	})
	insert("<jose><P><OFF>$", "<jose><A><11><40050501><>$")
	wait.Within(t, 30*time.Second, "the second call's A and G", func() bool { return events("<jose><A><") >= 2 && events("<jose><G><") >= 2 })
	insert("<jose><D>$", "<jose><S>$")
	wait.Within(t, 30*time.Second, "the answers after the takeover", func() bool { return r.replies() >= 10 })
	if got := column(t, r.db, "SELECT frame FROM relay_journal WHERE kind = 'reply' ORDER BY id"); got[len(got)-1] != "<jose><S><1>$" {
		t.Fatalf("replies %q: want jose available after the takeover", got)
	}
	if s := sim.tactiumFrame(t, "<jose><S>$"); s != "<jose><S><4>$" && s != "<jose><S><1>$" {
		t.Fatalf("the switch has jose in %s", s)
	}
	if a, g := events("<jose><A><"), events("<jose><G><"); a != 2 || g != 2 {
		t.Fatalf("journaled %d A and %d G events for two calls, want two each", a, g)
	}
	if n := count(t, r.db, "SELECT count(*) FROM relay_journal WHERE kind = 'reply' AND frame LIKE '%<ERR>%'"); n != 0 {
		t.Errorf("%d error replies: %q", n, column(t, r.db, "SELECT frame FROM relay_journal WHERE kind = 'reply' ORDER BY id"))
	}
	relays[standby].stop()
}
