package main

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
)

// switchObserver is an ADMSOCKET client of `ctirelay sim --listen`: it counts
// the events the switch sent, the truth the journal is checked against.
type switchObserver struct {
	mu     sync.Mutex
	frames map[string]int // how many times each frame came
	total  int
}

func observeSwitch(t *testing.T, addr string) *switchObserver {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	if _, err := nc.Write([]byte("<ADMSOCKET><L><ON>$")); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(nc)
	if s, err := r.ReadString('$'); err != nil || s != "<ADMSOCKET><OK>$" {
		t.Fatalf("observer logon: %q %v", s, err)
	}
	o := &switchObserver{frames: map[string]int{}}
	go func() {
		for {
			s, err := r.ReadString('$')
			if err != nil {
				return
			}
			o.mu.Lock()
			o.frames[strings.TrimSpace(s)]++
			o.total++
			o.mu.Unlock()
		}
	}()
	return o
}

// checkNoneTwice fails when the journal holds an event more often than the
// switch sent it.
func (o *switchObserver) checkNoneTwice(t *testing.T, r *pgRig) {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	journaled := map[string]int{}
	for _, f := range column(t, r.db, "SELECT frame FROM relay_journal WHERE kind = 'event'") {
		journaled[f]++
	}
	for f, n := range journaled {
		if n > o.frames[f] {
			t.Errorf("%s journaled %d times, sent by the switch %d times", f, n, o.frames[f])
		}
	}
}

func (o *switchObserver) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.total
}

// sharedRelayConfig is the engine and log settings of relays sharing a
// PostgreSQL database in a test, appended to tactiumRelayConfig's or
// epbxRelayConfig's.
const sharedRelayConfig = `  max_in_flight: 20
  poll_interval: 20ms
  lease: 2s
log:
  level: debug
  format: json
`

// sharedTactiumConfig is tactiumRelayConfig's with a PostgreSQL relay's
// engine settings.
func sharedTactiumConfig(addr string) string { return tactiumRelayConfig(addr, sharedRelayConfig) }

// monitors lists the relays whose driver has opened the monitoring
// connection since they started.
func monitors(relays []*relayProc) []int {
	var out []int
	for i, p := range relays {
		if strings.Contains(p.logText(), "monitoring connection open") {
			out = append(out, i)
		}
	}
	return out
}

// dialOK is the answer of a dial the switch carried out.
func dialOK(frame string) bool { return strings.HasSuffix(frame, "><OK>$") }

// checkEventsAfterTheirDial reads the journal in id order and fails when an
// agent's A event comes before the answer (answered tells which) of a dial
// it has not yet been matched with: the reply first, as docs/protocol.md
// promises.
func checkEventsAfterTheirDial(t *testing.T, r *pgRig, answered func(frame string) bool) (dials, aEvents int) {
	t.Helper()
	rows, err := r.db.Query(`
		SELECT j.id, lower(j.agent), j.kind, j.frame, coalesce(c.frame, '')
		  FROM relay_journal j
		  LEFT JOIN relay_journal c ON c.inbox_id = j.inbox_id AND c.kind = 'command'
		 WHERE j.kind IN ('reply', 'event')
		 ORDER BY j.id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	okDials := map[string]int{}
	seenA := map[string]int{}
	for rows.Next() {
		var id int64
		var agent, kind, frame, cmd string
		if err := rows.Scan(&id, &agent, &kind, &frame, &cmd); err != nil {
			t.Fatal(err)
		}
		switch {
		case kind == "reply" && strings.Contains(cmd, "><A><") && answered(frame):
			okDials[agent]++
			dials++
		case kind == "event" && strings.HasPrefix(strings.ToLower(frame), "<"+agent+"><a><"):
			seenA[agent]++
			aEvents++
			if seenA[agent] > okDials[agent] {
				t.Errorf("journal id %d: %s journaled before the OK of the dial that caused it (%d A events, %d dials answered OK)",
					id, frame, seenA[agent], okDials[agent])
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return dials, aEvents
}

// sharedSwitch starts `ctirelay sim --listen` with simArgs, an observer of
// its events, and n relays on one PostgreSQL database, and waits for one of
// them (listener) to listen to the switch.
func sharedSwitch(t *testing.T, n int, simArgs ...string) (r *pgRig, sw *switchObserver, relays []*relayProc, listener int) {
	t.Helper()
	addr := freeAddr(t)
	startSimServer(t, addr, simArgs...)
	sw = observeSwitch(t, addr)
	r = newPGRig(t, sharedTactiumConfig(addr))
	relays = r.relays(n)
	wait.Within(t, 30*time.Second, "one relay to listen to the switch", func() bool { return len(monitors(relays)) >= 1 })
	return r, sw, relays, monitors(relays)[0]
}

// killListener kills the listening relay with kill -9 and waits for another
// to listen; it returns the others.
func killListener(t *testing.T, relays []*relayProc, listener int) []*relayProc {
	t.Helper()
	relays[listener].kill()
	rest := append(append([]*relayProc{}, relays[:listener]...), relays[listener+1:]...)
	wait.Within(t, 30*time.Second, "another relay to listen", func() bool { return len(monitors(rest)) == 1 })
	return rest
}

// logOnThenDial is an agent's k-th command: L ON first, then dials (odd k)
// and hang-ups (even k) in turn.
func logOnThenDial(agent string, k int) string {
	switch {
	case k == 0:
		return fmt.Sprintf("<%s><L><ON>$", agent)
	case k%2 == 1:
		return fmt.Sprintf("<%s><A><11><9%07d><>$", agent, k)
	default:
		return fmt.Sprintf("<%s><D>$", agent)
	}
}

// TestE2ETactiumSharedSwitchRepro is the repro: two relays on one
// PostgreSQL and one `ctirelay sim --listen`; a logon and a dial. Each event
// is journaled (and written to T_TTO) once, after the dial's OK.
func TestE2ETactiumSharedSwitchRepro(t *testing.T) {
	r, sw, relays, _ := sharedSwitch(t, 2, "--ring-time", "0s", "--talk-time", "300ms")

	if _, err := r.db.Exec(`INSERT INTO T_TTI VALUES (11,'<ana><L><ON>$'), (12,'<ana><A><85><22227><>$')`); err != nil {
		t.Fatal(err)
	}
	wait.Within(t, 30*time.Second, "the call to end", func() bool { return sw.count() >= 3 })
	wait.Within(t, 30*time.Second, "every event journaled", func() bool {
		return count(t, r.db, "SELECT count(*) FROM relay_journal WHERE kind = 'event'") >= sw.count()
	})
	got := column(t, r.db, "SELECT frame FROM relay_journal WHERE kind IN ('reply', 'event') ORDER BY id")
	if len(got) != 5 || got[0] != "<ana><OK>$" || got[1] != "<ana><OK>$" ||
		!strings.HasPrefix(got[2], "<ana><A><") || !strings.HasPrefix(got[3], "<ana><G><") || got[4] != "<ana><EndCall>$" {
		t.Fatalf("journal (replies and events) = %q, want OK, OK, A, G, EndCall", got)
	}
	if tto := column(t, r.db, "SELECT DS_TTO FROM T_TTO ORDER BY IS_TTO"); strings.Join(tto, "") != strings.Join(got, "") {
		t.Fatalf("T_TTO = %q, want the journal's %q", tto, got)
	}
	if m := monitors(relays); len(m) != 1 {
		t.Fatalf("relays listening to the switch: %v, want exactly one", m)
	}
	for _, p := range relays {
		p.stop()
	}
}

// TestE2ETactiumSharedSwitchThreeRelays: three relays share one switch under
// a load of dials from 40 agents; every event the switch sent is journaled
// exactly once and every A event after its dial's OK, whichever relay ran the
// dial. Then the listening relay is killed: another takes over, and the
// events after that are journaled once too.
func TestE2ETactiumSharedSwitchThreeRelays(t *testing.T) {
	r, sw, relays, listener := sharedSwitch(t, 3, "--ring-time", "0s")

	// L ON, then dial and hang up ten times: each dial's answer is OK, then
	// the switch sends A and G at once (no ring time); D is answered EndCall.
	const agents, rounds = 40, 10
	phase := func(first int, n int) int {
		r.insertAsERPs(4, agents, n, func(agent string, k int) string { return logOnThenDial(agent, k+first) })
		return n * agents
	}
	total := phase(0, 1+2*rounds)
	wait.Within(t, 3*time.Minute, "every answer", func() bool { return r.replies() >= total })
	want := 2 * agents * rounds // A and G per dial
	wait.Within(t, time.Minute, "the switch's events", func() bool { return sw.count() >= want })
	wait.Within(t, time.Minute, "every event journaled", func() bool {
		return count(t, r.db, "SELECT count(*) FROM relay_journal WHERE kind = 'event'") >= sw.count()
	})
	r.checkEveryCommandAnsweredOnceInOrder(total)
	dials, aEvents := checkEventsAfterTheirDial(t, r, dialOK)
	if dials != agents*rounds || aEvents != dials {
		t.Fatalf("%d dials answered OK and %d A events journaled, want %d of each", dials, aEvents, agents*rounds)
	}
	sw.checkNoneTwice(t, r)
	if n := count(t, r.db, "SELECT count(*) FROM relay_journal WHERE kind = 'event'"); n != sw.count() {
		t.Fatalf("%d events journaled, the switch sent %d", n, sw.count())
	}
	if n := count(t, r.db, "SELECT count(*) FROM T_TTO WHERE DS_TTO LIKE '%><A><%' OR DS_TTO LIKE '%><G><%'"); n != sw.count() {
		t.Fatalf("%d events in T_TTO, the switch sent %d", n, sw.count())
	}
	ran := 0
	for i, p := range relays {
		if i != listener && len(p.dispatches()) > 0 {
			ran++
		}
	}
	if ran == 0 {
		t.Fatal("only the listening relay ran commands: the test did not exercise replies written by another relay")
	}
	if m := monitors(relays); len(m) != 1 {
		t.Fatalf("relays listening to the switch: %v, want exactly one", m)
	}

	// The listener dies; another relay takes the switch's events over.
	rest := killListener(t, relays, listener)
	before := sw.count()
	r.insertAsERPs(4, agents, 2, func(agent string, k int) string {
		if k == 0 {
			return fmt.Sprintf("<%s><A><11><8%07d><>$", agent, k+1) // …0000 never answers
		}
		return fmt.Sprintf("<%s><D>$", agent)
	})
	wait.Within(t, 3*time.Minute, "every answer after the takeover", func() bool { return r.replies() >= total+2*agents })
	wait.Within(t, time.Minute, "the switch's events after the takeover", func() bool { return sw.count() >= before+2*agents })
	wait.Within(t, time.Minute, "every event journaled", func() bool {
		return count(t, r.db, "SELECT count(*) FROM relay_journal WHERE kind = 'event'") >= sw.count()
	})
	if n := count(t, r.db, "SELECT count(*) FROM relay_journal WHERE kind = 'event'"); n != sw.count() {
		t.Fatalf("after the takeover: %d events journaled, the switch sent %d", n, sw.count())
	}
	checkEventsAfterTheirDial(t, r, dialOK)
	for _, p := range rest {
		p.stop()
	}
}

// TestE2ETactiumSharedSwitchListenerKilledUnderLoad is the chaos in
// small: the listening relay is killed with kill -9 while dials flow. Events
// the switch sent while nobody listened are lost (Tactium keeps none), but
// none is journaled twice, and every A event still follows its dial's answer
// (OK, or ERR IN_DOUBT for the dials the killed relay had at the switch).
func TestE2ETactiumSharedSwitchListenerKilledUnderLoad(t *testing.T) {
	r, sw, relays, listener := sharedSwitch(t, 3, "--ring-time", "0s")

	const agents, rounds = 40, 20
	total := agents * (1 + 2*rounds)
	r.insertAsERPs(4, agents, 1+2*rounds, logOnThenDial)
	wait.Within(t, time.Minute, "a third of the answers", func() bool { return r.replies() >= total/3 })
	rest := killListener(t, relays, listener)
	wait.Within(t, 3*time.Minute, "every answer", func() bool { return r.replies() >= total })
	r.checkEveryCommandAnsweredOnceInOrder(total)

	journaled := func() int { return count(t, r.db, "SELECT count(*) FROM relay_journal WHERE kind = 'event'") }
	afterKill := journaled()
	// The last answers' events: the switch sent them before the answers
	// were journaled, so they are journaled soon or never; a later dial
	// shows the listener has caught up.
	r.insertAsERPs(1, 1, 2, func(agent string, k int) string {
		if k == 0 {
			return fmt.Sprintf("<%s><A><11><7%07d><>$", agent, 1)
		}
		return fmt.Sprintf("<%s><D>$", agent)
	})
	wait.Within(t, time.Minute, "the last dial's events", func() bool { return journaled() >= afterKill+2 })
	sw.checkNoneTwice(t, r)
	t.Logf("the switch sent %d events, %d journaled (the rest sent while no relay listened)", sw.count(), journaled())
	_, aEvents := checkEventsAfterTheirDial(t, r, func(frame string) bool {
		return dialOK(frame) || strings.Contains(frame, "><ERR><IN_DOUBT><")
	})
	if aEvents == 0 {
		t.Fatal("no A event journaled")
	}
	for _, p := range rest {
		p.stop()
	}
}
