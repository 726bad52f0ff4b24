package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
)

// The switch answers each command after 30s, and a relay holds 5 at most:
// commands stay at the switch under the relays' leases long enough to see.
const pgLeasesConfig = `
bridges:
  socket:
    listen: ""
switch:
  sim:
    think_time: 30s
engine:
  max_in_flight: 5
  exec_timeout: 2m
`

// Two relays on PostgreSQL, each with commands at the switch: status and
// status --json show, beside each relay's locks, the commands it holds
// under lease; killed with SIGKILL, the relay shows stale within a lease.
func TestE2EPostgresStatusShowsEachRelaysLeases(t *testing.T) {
	r := newPGRig(t, pgLeasesConfig)
	relays := r.relays(1)
	for i := range 10 {
		if _, err := r.db.Exec(`INSERT INTO T_TTI (DS_TTI) VALUES ($1)`, fmt.Sprintf("<agent%02d><S>$", i)); err != nil {
			t.Fatal(err)
		}
	}
	wait.Within(t, 30*time.Second, "relay-0 holding 5", func() bool {
		return count(t, r.db, `SELECT count(*) FROM relay_inbox WHERE state = 'running' AND lease_owner LIKE 'relay-0#%'`) == 5
	})
	relays = append(relays, startRelay(t, r.dir, "--db", r.dsn, "--config", r.cfg, "--node", "relay-1"))
	wait.Within(t, 30*time.Second, "relay-1 holding the other 5", func() bool {
		return count(t, r.db, `SELECT count(*) FROM relay_inbox WHERE state = 'running' AND lease_owner LIKE 'relay-1#%'`) == 5
	})
	var st struct {
		Nodes []relayRow `json:"nodes"`
	}
	out, errOut, code := ctl(t, r.dir, "status", "--json", "--db", r.dsn, "--config", r.cfg)
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || len(st.Nodes) != 2 {
		t.Fatalf("status --json: %d %s %s", code, out, errOut)
	}
	leaders := 0
	for _, n := range st.Nodes {
		if n.InFlight != 5 || len(n.Leases) != 1 || !strings.HasPrefix(n.Leases[0].Owner, n.ID+"#") || n.Leases[0].Commands != 5 ||
			n.Version == "" || n.Stale {
			t.Fatalf("node %+v: want its 5 commands under its own lease", n)
		}
		if n.Leader {
			leaders++
		}
	}
	if leaders != 1 {
		t.Fatalf("%d leaders in %+v", leaders, st.Nodes)
	}
	out, errOut, code = ctl(t, r.dir, "status", "--db", r.dsn, "--config", r.cfg)
	if code != 0 || strings.Count(out, "5 leased") != 2 || !strings.Contains(out, "scheduler + 5 leased") {
		t.Fatalf("status: %d\n%s\n%s", code, out, errOut)
	}
	relays[1].kill()
	wait.Within(t, time.Minute, "relay-1 stale", func() bool {
		out, _, _ := ctl(t, r.dir, "status", "--json", "--db", r.dsn, "--config", r.cfg)
		if json.Unmarshal([]byte(out), &st) != nil {
			return false
		}
		for _, n := range st.Nodes {
			if n.ID == "relay-1" {
				return n.Stale // its leases may be taken over by now
			}
		}
		return false
	})
}
