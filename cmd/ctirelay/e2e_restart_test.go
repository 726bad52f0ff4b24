package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
)

// restartConfig: a switch slow enough to kill a relay while it holds a
// dial, and a lease far longer than the test waits, so an answer that comes
// can only come from the restart, not from the lease running out.
const restartConfig = `
engine:
  lease: 5m
  poll_interval: 20ms
log:
  level: debug
  format: json
switch:
  sim:
    think_time: 3s
`

// restartRig drives the scenario on one database: a relay holding a
// dial at a slow switch is killed with kill -9 and started again.
type restartRig struct {
	t     *testing.T
	db    *sql.DB
	start func(node string) *relayProc
	procs []*relayProc
	param string // the ERP's placeholder
}

func (r *restartRig) run(node string) *relayProc {
	p := r.start(node)
	r.procs = append(r.procs, p)
	return p
}

func (r *restartRig) insert(frame string) {
	r.t.Helper()
	if _, err := r.db.Exec("INSERT INTO T_TTI (DS_TTI) VALUES ("+r.param+")", frame); err != nil {
		r.t.Fatal(err)
	}
}

func (r *restartRig) tto() []string {
	return column(r.t, r.db, "SELECT DS_TTO FROM T_TTO ORDER BY IS_TTO")
}

// holdADial starts r1, has it log jose on and dial, and kills it while the
// switch thinks about the dial.
func (r *restartRig) holdADial() {
	t := r.t
	t.Helper()
	r1 := r.run("r1")
	r.insert("<jose><L><ON>$")
	r.insert("<jose><A><85><5551237><>$")
	r.insert("<jose><S>$")
	wait.Within(t, time.Minute, "r1 to send the dial", func() bool {
		return slices.ContainsFunc(r1.dispatches(), func(d dispatchLine) bool { return d.Verb == "A" })
	})
	r1.kill()
	if got := r.tto(); !slices.Equal(got, []string{"<jose><OK>$"}) {
		t.Fatalf("T_TTO when r1 died = %q: the dial's answer must still be pending", got)
	}
}

// inDoubtAtOnce waits (for much less than the lease) for the dial's
// IN_DOUBT, and checks it came from the restart.
func (r *restartRig) inDoubtAtOnce() {
	t := r.t
	t.Helper()
	wait.Within(t, time.Minute, "ERR IN_DOUBT for the dial, long before its lease expires", func() bool {
		return slices.ContainsFunc(r.tto(), func(s string) bool { return strings.HasPrefix(s, "<jose><ERR><IN_DOUBT>") })
	})
	if got := column(t, r.db, "SELECT reason FROM relay_dead"); !slices.Equal(got, []string{"in-doubt: relay restarted while the switch had it"}) {
		t.Fatalf("relay_dead reasons = %q", got)
	}
}

// dialledOnce checks every command was answered once and the dial reached a
// switch once, counted from every relay's dispatch lines.
func (r *restartRig) dialledOnce() {
	t := r.t
	t.Helper()
	wait.Within(t, time.Minute, "jose's status reply", func() bool { return len(r.tto()) >= 3 })
	got := r.tto()
	if len(got) != 3 || got[0] != "<jose><OK>$" || !strings.HasPrefix(got[1], "<jose><ERR><IN_DOUBT>") || !strings.HasPrefix(got[2], "<jose><S><") {
		t.Fatalf("T_TTO = %q, want OK, ERR IN_DOUBT, S", got)
	}
	dials := 0
	for _, p := range r.procs {
		for _, d := range p.dispatches() {
			if d.Verb == "A" {
				dials++
			}
		}
	}
	if dials != 1 {
		t.Fatalf("the dial was dispatched %d times, want once", dials)
	}
	if n := count(t, r.db, "SELECT count(*) FROM relay_inbox"); n != 0 {
		t.Fatalf("%d commands left in relay_inbox", n)
	}
}

// TestE2EPostgresRestartUnderTheSameNameDialsOnce is issue 10's scenario:
// r1 holds a dial at a slow switch, kill -9 r1, start it again as r1, start
// r2, SIGTERM the new r1. The new r1 settles its predecessor's dial at once
// (in doubt), and its Release at shutdown hands r2 nothing to dial again.
func TestE2EPostgresRestartUnderTheSameNameDialsOnce(t *testing.T) {
	pg := newPGRig(t, restartConfig)
	r := &restartRig{t: t, db: pg.db, param: "$1", start: func(node string) *relayProc {
		return startRelay(t, pg.dir, "--db", pg.dsn, "--config", pg.cfg, "--node", node)
	}}
	r.holdADial()
	again := r.run("r1")
	r.inDoubtAtOnce()
	r.run("r2")
	again.stop()
	r.dialledOnce()
	if log := again.logText(); !strings.Contains(log, "relay restarted: its previous run died holding the command") {
		t.Fatalf("the restarted r1 did not say it settled its predecessor's dial:\n%s", log)
	}
}

// TestE2ESQLiteRestartSettlesTheDeadRelayAtOnce: on SQLite the next start on
// the file knows the relay before it is dead (that one held the file lock),
// whatever name either runs under: it settles the dead relay's leases at
// once and drops its relay_node row.
func TestE2ESQLiteRestartSettlesTheDeadRelayAtOnce(t *testing.T) {
	t.Parallel()
	for _, node := range []string{"r1", "r9"} {
		t.Run("restarted as "+node, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			cfg := writeFile(t, filepath.Join(dir, "ctirelay.yaml"), restartConfig)
			db := relayDB(t, dir)
			r := &restartRig{t: t, db: db, param: "?", start: func(node string) *relayProc {
				return startRelay(t, dir, "--config", cfg, "--node", node)
			}}
			r.holdADial()
			again := r.run(node)
			r.inDoubtAtOnce()
			out, _, code := ctl(t, dir, "status", "--json")
			var st statusJSON
			if code != 0 || json.Unmarshal([]byte(out), &st) != nil || len(st.Nodes) != 1 || st.Nodes[0].ID != node {
				t.Fatalf("status while %s runs: code %d\n%s", node, code, out)
			}
			r.dialledOnce()
			again.stop()
			if n := count(t, db, "SELECT count(*) FROM relay_node"); n != 0 {
				t.Fatalf("relay_node holds %d rows after a clean stop", n)
			}
			if node != "r1" && !strings.Contains(again.logText(), "removed the row of a dead relay from relay_node") {
				t.Fatalf("%s did not log dropping r1's row:\n%s", node, again.logText())
			}
		})
	}
}

// TestE2EShutdownReleasesDialsThatNeverReachedTheSwitch (issue 10, 0d): with
// shutdown_timeout 2s and a slow Tactium switch, a SIGTERM cuts off dials
// still waiting for their agent's connection to be identified (its <S>
// hello) and one already written to the switch. Only that one is in doubt;
// the others were never sent, are released, and run at the next start.
func TestE2EShutdownReleasesDialsThatNeverReachedTheSwitch(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	startSimServer(t, addr, "--think-time", "4s")
	dir := t.TempDir()
	cfg := writeFile(t, filepath.Join(dir, "ctirelay.yaml"), fmt.Sprintf(`
switch:
  driver: tactium
  tactium:
    address: %s
    reply_timeout: 30s
engine:
  shutdown_timeout: 2s
  exec_timeout: 30s
log:
  level: debug
  format: json
`, addr))
	r := &restartRig{t: t, param: "?", start: func(node string) *relayProc {
		return startRelay(t, dir, "--config", cfg, "--node", node)
	}}
	db := relayDB(t, dir)
	r.db = db
	p := r.run("r1")
	// xavier's connection is open (its hello, then L ON) when its dial goes.
	r.insert("<xavier><L><ON>$")
	r.insert("<xavier><A><85><5551000><>$")
	wait.Within(t, time.Minute, "xavier's dial at the switch", func() bool {
		return slices.ContainsFunc(p.dispatches(), func(d dispatchLine) bool { return d.Agent == "xavier" && d.Verb == "A" })
	})
	fresh := []string{"ana", "bia", "cid"}
	for _, a := range fresh {
		r.insert("<" + a + "><A><85><5551237><>$")
	}
	wait.Within(t, time.Minute, "the other dials handed to the driver", func() bool { return len(p.dispatches()) == 5 })
	p.stop()
	got := r.tto()
	if len(got) != 2 || got[0] != "<xavier><OK>$" || !strings.HasPrefix(got[1], "<xavier><ERR><IN_DOUBT>") {
		t.Fatalf("T_TTO after the stop = %q: only xavier's dial, written to the switch, is in doubt", got)
	}
	if n := count(t, db, "SELECT count(*) FROM relay_inbox WHERE state = 'ready' AND attempts = 0"); n != len(fresh) {
		t.Fatalf("%d dials released untouched, want %d", n, len(fresh))
	}
	r.run("r1")
	// (xavier's call, which the switch did make, sends its events too)
	answers := func() []string {
		return slices.DeleteFunc(r.tto(), func(s string) bool { return strings.HasPrefix(s, "<xavier>") })
	}
	wait.Within(t, time.Minute, "the released dials answered", func() bool { return len(answers()) == len(fresh) })
	for _, s := range answers() {
		if strings.Contains(s, "<IN_DOUBT>") {
			t.Fatalf("a released dial answered %s", s)
		}
	}
}
