package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/internal/tactiumtest"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
)

// epbxSim is a `ctirelay sim --listen … --epbx …` process.
type epbxSim struct {
	*simServer
	tactium, epbx string
}

func startEPBXSim(t *testing.T, tactiumAddr, epbxAddr string) *epbxSim {
	t.Helper()
	s := startSim(t, []string{"--listen", tactiumAddr, "--epbx", epbxAddr,
		"--epbx-token-ttl", "3s", "--epbx-keepalive", "2s", "--epbx-controls", "--ring-time", "0s", "--talk-time", "0s"},
		"the EPBX sim on "+epbxAddr, func() bool {
			resp, err := http.Get("http://" + epbxAddr + "/signalr/ping")
			if err == nil {
				resp.Body.Close()
			}
			return err == nil && resp.StatusCode == 200
		})
	return &epbxSim{simServer: s, tactium: tactiumAddr, epbx: epbxAddr}
}

// control calls one of the sim's /_fake/ test controls.
func (s *epbxSim) control(t *testing.T, what string) {
	t.Helper()
	s.controlBody(t, what, "")
}

func (s *epbxSim) controlBody(t *testing.T, what, body string) {
	t.Helper()
	resp, err := http.Post("http://"+s.epbx+"/_fake/"+what, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("control %s: %s", what, resp.Status)
	}
}

// tactium sends one frame on the sim's Tactium socket (a way into the same
// simulated switch from outside the relay) and returns the first answer.
func (s *epbxSim) tactiumFrame(t *testing.T, frame string) string {
	t.Helper()
	c := tactiumtest.Dial(t, s.tactium)
	defer c.Close()
	c.Send(frame)
	return c.Frames(1)[0]
}

// epbxRelayConfig drives `ctirelay sim --epbx` at addr as jose (his
// password from CTIRELAY_TEST_EPBX_PASSWORD), retrying fast, as
// tactiumRelayConfig does a Tactium socket; extra is appended YAML.
func epbxRelayConfig(addr, extra string) string {
	return fmt.Sprintf(`
switch:
  driver: epbx
  epbx:
    base_url: http://%s
    client_id: ctirelay
    reply_timeout: 5s
    dial_confirm: 1s
    agents:
      jose: {username: jose, password: "${CTIRELAY_TEST_EPBX_PASSWORD}", logon: IdPa, target: "12", extension: "7001"}
engine:
  max_attempts: 40
  backoff_base: 100ms
  backoff_max: 500ms
`, addr) + extra
}

// TestE2ERelayDrivesAnEPBX points the relay's epbx driver at
// `ctirelay sim --epbx`: rows in T_TTI log on, dial, hang up, pause, resume,
// consult and transfer; tokens expire every 3 s; the hub drops the socket
// (events sent meanwhile arrive after the reconnect) and goes away longer
// than the reconnect window (the agent is logged on again, still paused).
func TestE2ERelayDrivesAnEPBX(t *testing.T) { // not parallel: t.Setenv passes the password to the relay
	tactiumAddr, epbxAddr := freeAddr(t), freeAddr(t)
	sim := startEPBXSim(t, tactiumAddr, epbxAddr)
	dir := t.TempDir()
	t.Setenv("CTIRELAY_TEST_EPBX_PASSWORD", "jose-secret-pw")
	cfg := writeFile(t, filepath.Join(dir, "ctirelay.yaml"), epbxRelayConfig(epbxAddr, "log:\n  level: debug\n"))
	relay := startRelay(t, dir, "--config", cfg)
	db := relayDB(t, dir)
	tto := func() []string { return outbound(t, db) }
	insert := func(frame string) { insertTTI(t, db, frame) }
	has := func(s string) func() bool {
		return func() bool { return slices.Contains(tto(), s) }
	}
	countOf := func(s string) int {
		n := 0
		for _, f := range tto() {
			if strings.HasPrefix(f, s) {
				n++
			}
		}
		return n
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("T_TTO: %q\nrelay log:\n%s", tto(), relay.logText())
		}
	})

	insert("<jose><L><ON>$")
	insert("<jose><A><11><40050500><>$")
	wait.Within(t, 20*time.Second, "the A and G events", func() bool { return countOf("<jose><A><") == 1 && countOf("<jose><G><") == 1 })
	for _, f := range tto() {
		if strings.HasPrefix(f, "<jose><G><") && (!strings.Contains(f, "/Service/api/Ligacao/Download/SIM-") || strings.Contains(f, "access_token")) {
			t.Fatalf("G event %s", f)
		}
	}
	time.Sleep(4 * time.Second) // past a token's life: renewals under way
	insert("<jose><D>$")
	wait.Within(t, 20*time.Second, "the hang-up", has("<jose><EndCall>$"))
	insert("<jose><P><ON><2>$")
	insert("<jose><S>$")
	wait.Within(t, 20*time.Second, "paused", has("<jose><S><2>$"))
	insert("<jose><P><OFF>$")
	insert("<jose><A><><7002><>$")
	wait.Within(t, 20*time.Second, "the second call", func() bool { return countOf("<jose><A><") == 2 })
	// Consult and release, a conference, then consult and transfer: the
	// simulated switch carries each out (XFER before CONS would be refused).
	for _, f := range []string{"<jose><CONS><><7003>$", "<jose><CONS><OFF>$", "<jose><CONF><ADD><><7004>$", "<jose><CONF><ON>$", "<jose><CONF><OFF>$", "<jose><CONS><><7003>$", "<jose><XFER>$"} {
		insert(f)
	}
	wait.Within(t, 20*time.Second, "the transfer's EndCall", func() bool { return countOf("<jose><EndCall>") == 2 })
	if countOf("<jose><EV><onChamadaTransferida>") != 1 {
		t.Errorf("no onChamadaTransferida event in T_TTO: %q", tto())
	}

	// The hub drops the socket and refuses reconnects for a moment; the
	// events it sends meanwhile (a call comes and goes) arrive after.
	sim.control(t, "expire") // and the tokens go: the reconnect needs a new one
	sim.control(t, "down?on=1")
	sim.controlBody(t, "send?user=jose&method=onChamada", `[{"Ramal":"7001"},{"CanalId":"99","Telefone":"1133334444","Direcao":2}]`)
	sim.controlBody(t, "send?user=jose&method=onDesliga", `[{"Ramal":"7001"},{"CanalId":"99"}]`)
	sim.control(t, "down?on=0")
	wait.Within(t, 30*time.Second, "the events sent while the socket was down", func() bool {
		return has("<jose><R><><><1133334444><><7001><><>$")() && countOf("<jose><EndCall>") == 3
	})

	// The hub goes away for longer than the reconnect window (a PBX
	// restart: every connection and token forgotten, the switch's state
	// lost): the driver starts over and logs jose on again, paused.
	insert("<jose><P><ON><3>$")
	insert("<jose><S>$")
	wait.Within(t, 20*time.Second, "paused again", func() bool { return countOf("<jose><S><2>") == 2 })
	sim.kill()
	time.Sleep(7 * time.Second) // past DisconnectTimeout (3 × keep-alive)
	sim = startEPBXSim(t, tactiumAddr, epbxAddr)
	wait.Within(t, 30*time.Second, "jose logged on again and paused at the new switch", func() bool {
		return sim.tactiumFrame(t, "<jose><S>$") == "<jose><S><2>$"
	})
	insert("<jose><P><OFF>$")
	insert("<jose><S>$")
	wait.Within(t, 20*time.Second, "available", has("<jose><S><1>$"))

	for _, f := range tto() {
		if strings.Contains(f, "<ERR>") {
			t.Errorf("an error reached T_TTO: %s", f)
		}
	}
	if n := count(t, db, "SELECT count(*) FROM relay_dead"); n != 0 {
		t.Errorf("%d dead letters", n)
	}
	if log := relay.logText(); strings.Contains(log, "jose-secret-pw") || regexp.MustCompile(`access_token=[0-9a-f]{8}`).MatchString(log) {
		t.Errorf("a secret in the relay's log")
	}
	relay.stop()
}
