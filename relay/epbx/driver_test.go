package epbx_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/drivertest"
	"github.com/ctirelay/ctirelay/relay/epbx"
	"github.com/ctirelay/ctirelay/relay/epbx/epbxfake"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
)

func TestLogonDialHangUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t, epbxfake.Config{})
	d := e.driver(t, nil)
	ev := open(t, d)
	must(t, d, "<jose><S>$", "<jose><S><0>$")
	// The connection outlives the command that opened it, as the engine
	// cancels each command's context when it is done.
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := d.Execute(ctx, drivertest.Command(t, "<jose><L><ON>$")); err != nil {
		t.Fatal(err)
	}
	cancel()
	must(t, d, "<jose><S>$", "<jose><S><1>$")
	if st := d.Status(); st.Connections != 1 || st.LoggedOn != 1 {
		t.Errorf("status %+v", st)
	}
	must(t, d, "<jose><A><11><987654321><>$", "<jose><OK>$")
	wait.For(t, "the A event", func() bool { return ev.has("<jose><A>") })
	must(t, d, "<jose><S>$", "<jose><S><3>$")
	must(t, d, "<jose><D>$", "<jose><EndCall>$")
	must(t, d, "<jose><S>$", "<jose><S><1>$")
	must(t, d, "<jose><L><OFF>$", "<jose><OK>$")
	must(t, d, "<jose><S>$", "<jose><S><0>$")
	if st := d.Status(); st.Connections != 0 {
		t.Errorf("status after L OFF %+v", st)
	}
	for _, f := range ev.all() {
		if f == "<jose><EndCall>$" {
			t.Errorf("an EndCall event besides the D's reply: %v", ev.all())
		}
	}
	got := strings.Join(e.hub.methods(), ",")
	if want := "Iniciar,Discar,Desligar,Terminar"; got != want {
		t.Errorf("hub calls %s, want %s", got, want)
	}
	if st := e.srv.Stats(); st.Aborts != 1 {
		t.Errorf("L OFF did not abort the connection: %+v", st)
	}
}

// The hub's onChamada becomes R for Direcao 2 and A otherwise, with the
// dialer's fields as attach info; onChamadaGlobalId becomes G with the
// download address (no token by default); others become EV.
func TestEvents(t *testing.T) {
	t.Parallel()
	for _, withToken := range []bool{false, true} {
		e := newEnv(t, epbxfake.Config{})
		d := e.driver(t, func(c *epbx.Config) { c.RecordingToken = withToken })
		ev := open(t, d)
		must(t, d, "<jose><L><ON>$", "<jose><OK>$")
		c := e.srv.Conns()[0]
		r := map[string]string{"Ramal": "7001"}
		c.Send("onChamada", r, map[string]any{"CanalId": 5, "Telefone": "1140050500", "Direcao": 2})
		c.Send("onAtendido", r, map[string]any{"CanalId": 5})
		c.Send("onChamadaGlobalId", r, map[string]any{"CanalId": 5}, "GID-1")
		c.Send("onDesliga", r, map[string]any{"CanalId": 5})
		c.Send("onChamada", r, map[string]any{"CanalId": 6, "Telefone": "11999", "Direcao": 1, "CodigoCliente": "C9", "NomeCliente": "Ana", "CodigoCampanha": "K1", "InfoAdicional1": "x"})
		wait.For(t, "five events", func() bool { return len(ev.all()) >= 5 })
		got := ev.all()
		want := []string{
			"<jose><R><><><1140050500><><7001><><>$",
			`<jose><EV><onAtendido><[{"Ramal":"7001"},{"CanalId":5}]>$`,
			"<jose><G><" + e.http.URL + "/Service/api/Ligacao/Download/GID-1?token_type=bearer>$",
			"<jose><EndCall>$",
			"<jose><A><C9><><7001><><11999><Ana><K1><codigoCliente=C9;nomeCliente=Ana;codigoCampanha=K1;telefoneCliente=;infoAdicional1=x;infoAdicional2=;infoAdicional3=;infoAdicional4=;infoAdicional5=;>$",
		}
		if withToken {
			if !strings.Contains(got[2], "&access_token=") {
				t.Errorf("recording_token on: %s", got[2])
			}
			continue
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("event %d = %s\n want %s", i, got[i], want[i])
			}
		}
	}
}

func TestPause(t *testing.T) {
	t.Parallel()
	e := newEnv(t, epbxfake.Config{})
	d := e.driver(t, func(c *epbx.Config) { c.Pauses = map[string]int{"LUNCH": 3} })
	open(t, d)
	must(t, d, "<jose><L><ON>$", "<jose><OK>$")
	must(t, d, "<jose><P><ON><LUNCH>$", "<jose><OK>$")
	must(t, d, "<jose><S>$", "<jose><S><2>$")
	if st, _ := e.sw.Agent("jose"); st != relay.StatePaused {
		t.Errorf("switch state %v", st)
	}
	must(t, d, "<jose><P><OFF>$", "<jose><OK>$")
	must(t, d, "<jose><S>$", "<jose><S><1>$")
	must(t, d, "<jose><P><ON><Banheiro>$", "<jose><OK>$") // by the hub's description
	must(t, d, "<jose><P><OFF>$", "<jose><OK>$")
	_, err := exec(t, d, "<jose><P><ON><NOPE>$")
	if pe := relay.AsProtocolError(err); pe.Code != relay.CodeBadArgs {
		t.Errorf("unknown pause code: %v", err)
	}
}

// A dial the hub refuses by event (onDiscaErro) is the dial's ERR.
func TestDialError(t *testing.T) {
	t.Parallel()
	e := newEnv(t, epbxfake.Config{})
	d := e.driver(t, nil)
	ev := open(t, d)
	must(t, d, "<jose><L><ON>$", "<jose><OK>$")
	must(t, d, "<jose><P><ON><2>$", "<jose><OK>$")
	_, err := exec(t, d, "<jose><A><11><987654321><>$") // paused: the switch refuses
	if pe := relay.AsProtocolError(err); pe.Code != relay.CodeRejected || !strings.Contains(pe.Message, "paused") {
		t.Errorf("dial while paused: %v", err)
	}
	// An onDiscaErro nobody waits for is news: an EV event.
	e.srv.Conns()[0].Send("onDiscaErro", map[string]string{"Ramal": "7001"}, "Número inválido")
	wait.For(t, "the EV event", func() bool { return ev.has(`<jose><EV><onDiscaErro><[{"Ramal":"7001"},"Número inválido"]>`) })
	for _, f := range ev.all() {
		if strings.Contains(f, "paused") {
			t.Errorf("the dial's own error also came as an event: %s", f)
		}
	}
}

// "Ramal não logado no Atendimento" (the hub lost the Iniciar): the driver
// logs on again and retries once.
func TestNotLoggedOnRetriesOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, epbxfake.Config{})
	d := e.driver(t, nil)
	open(t, d)
	must(t, d, "<jose><L><ON>$", "<jose><OK>$")
	e.srv.Conns()[0].Set("iniciado", false) // the hub forgets the logon: it answers epbxsim.NotLoggedOn
	must(t, d, "<jose><A><><7002><>$", "<jose><OK>$")
	got := strings.Join(e.hub.methods(), ",")
	if want := "Iniciar,Discar,Iniciar,Discar"; got != want {
		t.Errorf("hub calls %s, want %s", got, want)
	}
}

// A dial without L ON: the hub says not logged on, the driver logs on.
func TestDialFirst(t *testing.T) {
	t.Parallel()
	e := newEnv(t, epbxfake.Config{})
	d := e.driver(t, nil)
	open(t, d)
	must(t, d, "<maria><A><><7001><>$", "<maria><OK>$")
	if got := strings.Join(e.hub.methods(), ","); got != "Discar,Iniciar,Discar" {
		t.Errorf("hub calls %s", got)
	}
}

// The hub away longer than the reconnect window: the connection starts
// over and the agent is logged on again, paused as it was.
func TestRestartRestoresState(t *testing.T) {
	t.Parallel()
	e := newEnv(t, epbxfake.Config{KeepAlive: 100 * time.Millisecond})
	d := e.driver(t, nil)
	open(t, d)
	must(t, d, "<jose><L><ON>$", "<jose><OK>$")
	must(t, d, "<jose><P><ON><2>$", "<jose><OK>$")
	e.srv.Forget() // as a hub restart: reconnects fail, then a restart
	wait.For(t, "the re-logon", func() bool {
		m := e.hub.methods()
		return len(m) >= 4 && m[len(m)-1] == "AlterarIntervaloTipo" && m[len(m)-2] == "Iniciar"
	})
	must(t, d, "<jose><S>$", "<jose><S><2>$")
	if st := e.srv.Stats(); st.Negotiates != 2 {
		t.Errorf("stats %+v", st)
	}
	must(t, d, "<jose><P><OFF>$", "<jose><OK>$")
	if h := d.Health(); h.Standby || !h.Connected {
		t.Fatalf("Health active again = %+v", h)
	}
}

// A driver under the switch:epbx lock (Gated) stands by from Open until
// the engine says it is the active relay.
func TestGatedStandsByUntilActive(t *testing.T) {
	t.Parallel()
	e := newEnv(t, epbxfake.Config{})
	d := e.driver(t, func(c *epbx.Config) { c.Gated = true })
	open(t, d)
	if h := d.Health(); !h.Standby || h.Connected {
		t.Fatalf("Health before SetActive = %+v, want standby", h)
	}
	if _, err := exec(t, d, "<jose><S>$"); !relay.IsTransient(err) {
		t.Fatalf("S before SetActive: %v, want transient", err)
	}
	d.SetActive(true)
	if h := d.Health(); h.Standby || h.Connected || !h.Idle || !strings.HasPrefix(h.Detail, "idle") {
		t.Fatalf("Health active, no agent connected = %+v, want idle, not connected", h)
	}
	must(t, d, "<jose><L><ON>$", "<jose><OK>$")
	if h := d.Health(); h.Standby || !h.Connected {
		t.Fatalf("Health active, jose logged on = %+v", h)
	}
}

// Health is not connected before any agent's connection opens (nothing
// has reached the hub: the driver is idle), connected once one has, and
// still connected after every agent logged off (the last contact reached
// the hub).
func TestHealthIdleUntilAnAgentConnects(t *testing.T) {
	t.Parallel()
	e := newEnv(t, epbxfake.Config{})
	d := e.driver(t, nil)
	open(t, d)
	if h := d.Health(); h.Connected || h.Standby || !h.Idle || !strings.HasPrefix(h.Detail, "idle") || h.LastError != "" {
		t.Fatalf("Health after Open = %+v, want idle: not connected, no error", h)
	}
	must(t, d, "<jose><S>$", "<jose><S><0>$") // answered from memory: still nothing reached
	if h := d.Health(); h.Connected {
		t.Fatalf("Health after S = %+v, want not connected", h)
	}
	must(t, d, "<jose><L><ON>$", "<jose><OK>$")
	if h := d.Health(); !h.Connected || h.Idle || h.Detail != "1 agent connections, 1 logged on" {
		t.Fatalf("Health after L ON = %+v", h)
	}
	must(t, d, "<jose><L><OFF>$", "<jose><OK>$")
	if h := d.Health(); !h.Connected || h.Detail != "0 agent connections, 0 logged on" {
		t.Fatalf("Health after L OFF = %+v", h)
	}
}

// A token endpoint that refuses the agent's user is the last error and
// takes Connected away until a connection opens again.
func TestHealthReportsAFailedConnection(t *testing.T) {
	t.Parallel()
	e := newEnv(t, epbxfake.Config{})
	d := e.driver(t, func(c *epbx.Config) {
		c.Agents["maria"] = epbx.Agent{Username: "maria", Password: "wrong", Logon: epbx.LogonRamalVirtual, Target: "7002"}
	})
	open(t, d)
	if _, err := exec(t, d, "<maria><L><ON>$"); err == nil {
		t.Fatal("L ON with a wrong password succeeded")
	}
	h := d.Health()
	if h.Connected || h.Idle || !strings.Contains(h.LastError, "maria") || strings.Contains(h.LastError, "wrong") {
		t.Fatalf("Health after a refused logon = %+v, want not connected, maria's error without her password", h)
	}
	must(t, d, "<jose><L><ON>$", "<jose><OK>$")
	if h := d.Health(); !h.Connected {
		t.Fatalf("Health after jose connected = %+v", h)
	}
}

// Tokens expiring every few seconds fail no command: the connection keeps
// its token's user, and reconnects use the renewed token.
func TestTokenExpiryFailsNoCommand(t *testing.T) {
	t.Parallel()
	e := newEnv(t, epbxfake.Config{})
	d := e.driver(t, nil)
	open(t, d)
	must(t, d, "<jose><L><ON>$", "<jose><OK>$")
	for i := range 5 {
		e.srv.ExpireTokens()
		if i%2 == 1 {
			before := e.srv.Stats().Reconnects
			e.srv.Drop() // the reconnect needs a valid token
			wait.For(t, "the reconnect", func() bool { return e.srv.Stats().Reconnects > before && d.Status().Connections == 1 })
		}
		frame := "<jose><P><ON><2>$"
		if i%2 == 1 {
			frame = "<jose><P><OFF>$"
		}
		var err error
		wait.For(t, "the command", func() bool {
			_, err = exec(t, d, frame)
			return err == nil || !relay.IsTransient(err)
		})
		if err != nil {
			t.Fatalf("%s after token expiry: %v", frame, err)
		}
	}
}

func TestInDoubtWhenTheSocketDrops(t *testing.T) {
	t.Parallel()
	e := newEnv(t, epbxfake.Config{})
	d := e.driver(t, nil)
	open(t, d)
	must(t, d, "<jose><L><ON>$", "<jose><OK>$")
	reached, release := e.hub.Hold()
	defer release()
	done := make(chan error, 1)
	go func() {
		_, err := d.Execute(context.Background(), drivertest.Command(t, "<jose><A><11><987654321><>$"))
		done <- err
	}()
	<-reached
	e.srv.Drop()
	if err := <-done; !errors.Is(err, relay.ErrInDoubt) {
		t.Fatalf("dial over a dropped socket: %v", err)
	}
}

func TestRejectedCredentials(t *testing.T) {
	t.Parallel()
	e := newEnv(t, epbxfake.Config{Users: map[string]string{"jose": "other"}})
	d := e.driver(t, nil)
	open(t, d)
	_, err := exec(t, d, "<jose><L><ON>$")
	if pe := relay.AsProtocolError(err); pe.Code != relay.CodeRejected {
		t.Fatalf("wrong password: %v", err)
	}
	if strings.Contains(err.Error(), secret) || strings.Contains(e.logs.String(), secret) {
		t.Errorf("the password leaked: %v / %s", err, e.logs.String())
	}
}

func TestNoSecretsInLogs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, epbxfake.Config{})
	d := e.driver(t, nil)
	ev := open(t, d)
	must(t, d, "<jose><L><ON>$", "<jose><OK>$")
	e.srv.Drop()
	wait.For(t, "reconnected", func() bool { return e.srv.Stats().Reconnects > 0 && d.Status().Connections == 1 })
	must(t, d, "<jose><A><11><987654321><>$", "<jose><OK>$")
	all := e.logs.String() + strings.Join(ev.all(), "")
	if strings.Contains(all, secret) || strings.Contains(all, "access_token=") {
		t.Errorf("secrets in logs or events:\n%s", all)
	}
}

func TestConsultTransferConference(t *testing.T) {
	t.Parallel()
	e := newEnv(t, epbxfake.Config{})
	d := e.driver(t, nil)
	ev := open(t, d)
	must(t, d, "<jose><L><ON>$", "<jose><OK>$")
	_, err := exec(t, d, "<jose><CONF><ON>$")
	if pe := relay.AsProtocolError(err); pe.Code != relay.CodeRejected {
		t.Errorf("CONF ON with no call: %v", err)
	}
	must(t, d, "<jose><A><11><987654321><>$", "<jose><OK>$")
	wait.For(t, "the call", func() bool { return ev.has("<jose><A>") })
	must(t, d, "<jose><CONS><><7002>$", "<jose><OK>$")
	must(t, d, "<jose><CONS><OFF>$", "<jose><OK>$")
	must(t, d, "<jose><CONF><ADD><><7002>$", "<jose><OK>$")
	must(t, d, "<jose><CONF><ON>$", "<jose><OK>$")
	must(t, d, "<jose><CONF><OFF>$", "<jose><OK>$")
	must(t, d, "<jose><CONS><><7002>$", "<jose><OK>$")
	must(t, d, "<jose><XFER>$", "<jose><OK>$")
	wait.For(t, "the EndCall", func() bool { return ev.has("<jose><EndCall>") })
	must(t, d, "<jose><S>$", "<jose><S><1>$")
	// The simulated switch carried them out (not the hub alone): the
	// transfer is announced, then the call ends.
	all := strings.Join(ev.all(), "")
	if x, end := strings.Index(all, "<jose><EV><onChamadaTransferida>"), strings.Index(all, "<jose><EndCall>"); x < 0 || x > end {
		t.Errorf("events %s: want onChamadaTransferida before EndCall", all)
	}
	if st := e.sw.Stats(); st.Transferred != 1 || st.Conferences != 1 {
		t.Errorf("switch stats %+v", st)
	}
}

// Standing by (relay.Standby) closes every connection and refuses
// commands as transient; active again, the agent is reconnected and
// logged on with its pause.
func TestStandbyAndResume(t *testing.T) {
	t.Parallel()
	e := newEnv(t, epbxfake.Config{})
	d := e.driver(t, nil)
	open(t, d)
	must(t, d, "<jose><L><ON>$", "<jose><OK>$")
	must(t, d, "<jose><P><ON><2>$", "<jose><OK>$")
	d.SetActive(false)
	if st := d.Status(); st.Connections != 0 {
		t.Fatalf("standing by with %d connections", st.Connections)
	}
	if h := d.Health(); !h.Standby || h.Connected {
		t.Fatalf("Health standing by = %+v, want standby, not connected", h)
	}
	wait.For(t, "the connection aborted at the hub", func() bool { return e.srv.Stats().Aborts == 1 })
	if _, err := exec(t, d, "<jose><S>$"); !relay.IsTransient(err) {
		t.Fatalf("S standing by: %v, want transient", err)
	}
	d.SetActive(true)
	wait.For(t, "jose reconnected and logged on", func() bool { st := d.Status(); return st.Connections == 1 && st.LoggedOn == 1 })
	must(t, d, "<jose><S>$", "<jose><S><2>$")
	if st, _ := e.sw.Agent("jose"); st != relay.StatePaused {
		t.Fatalf("switch state %d, want paused", st)
	}
	must(t, d, "<jose><P><OFF>$", "<jose><OK>$")
}

// After EPBX forgot the connection (a start over, the agent logged on
// again on a new connection), the call the old connection announced is not
// tracked any more: the new connection never hears its onDesliga, and S
// answered 3 and AC the old call for ever (seen with `ctirelay sim --epbx`
// killed mid-call and restarted). An onDesliga that does come still writes
// the EndCall.
func TestRestartForgetsTheCallInProgress(t *testing.T) {
	t.Parallel()
	e := newEnv(t, epbxfake.Config{KeepAlive: 100 * time.Millisecond})
	d := e.driver(t, nil)
	ev := open(t, d)
	must(t, d, "<jose><L><ON>$", "<jose><OK>$")
	must(t, d, "<jose><A><11><987654321><>$", "<jose><OK>$")
	wait.For(t, "the A event", func() bool { return ev.has("<jose><A>") })
	must(t, d, "<jose><S>$", "<jose><S><3>$")
	e.srv.Forget()
	wait.For(t, "the re-logon", func() bool {
		m := e.hub.methods()
		return len(m) >= 3 && m[len(m)-1] == "Iniciar"
	})
	wait.For(t, "the agent logged on again", func() bool { return strings.Contains(e.logs.String(), "epbx agent logged on again") })
	must(t, d, "<jose><S>$", "<jose><S><1>$")
	var pe *relay.ProtocolError
	if _, err := exec(t, d, "<jose><AC>$"); !errors.As(err, &pe) || pe.Code != relay.CodeInvalidState {
		t.Errorf("AC after the start over = %v, want INVALID_STATE", err)
	}
}

// Control characters in the hub's text (a dialer's customer name with a
// NUL, a newline) become spaces in the frames: T_TTO on PostgreSQL refuses
// a NUL, and the call's A event was dead-lettered, never reaching the ERP.
func TestEventTextHasNoControlCharacters(t *testing.T) {
	t.Parallel()
	e := newEnv(t, epbxfake.Config{})
	d := e.driver(t, nil)
	ev := open(t, d)
	must(t, d, "<jose><L><ON>$", "<jose><OK>$")
	r := map[string]string{"Ramal": "70\t01"}
	e.srv.Conns()[0].Send("onChamada", r, map[string]any{"CanalId": 6, "Telefone": "11\x00999", "Direcao": 1,
		"CodigoCliente": "C\r\n9", "NomeCliente": "Jo\x00ão\x7f", "InfoAdicional1": "x\x1b[2J"})
	wait.For(t, "the A event", func() bool { return len(ev.all()) >= 1 })
	want := "<jose><A><C  9><><70 01><><11 999><Jo ão ><><codigoCliente=C  9;nomeCliente=Jo ão ;codigoCampanha=;telefoneCliente=;infoAdicional1=x [2J;infoAdicional2=;infoAdicional3=;infoAdicional4=;infoAdicional5=;>$"
	if got := ev.all()[0]; got != want {
		t.Errorf("A event %q\n want %q", got, want)
	}
}

// A hub error's message goes into the ERR frame with its control
// characters made spaces, as the events' text.
func TestHubErrorHasNoControlCharacters(t *testing.T) {
	t.Parallel()
	e := newEnv(t, epbxfake.Config{})
	e.hub.errs = map[string]error{"Desligar": errors.New("sem\x00chamada\n")}
	d := e.driver(t, nil)
	open(t, d)
	must(t, d, "<jose><L><ON>$", "<jose><OK>$")
	_, err := exec(t, d, "<jose><D>$")
	if pe := relay.AsProtocolError(err); pe == nil || pe.Code != relay.CodeRejected || pe.Message != "sem chamada " {
		t.Errorf("D = %v, want REJECTED %q", err, "sem chamada ")
	}
}
