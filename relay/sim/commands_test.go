package sim

import (
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// setUp puts agent jose in the named state. Calls are answered at once
// (RingTime 0) and never end by themselves (TalkTime 0), and wrap-up lasts
// until P OFF or POS OFF (WrapUp 0).
func setUp(h *harness, state string) {
	h.t.Helper()
	switch state {
	case "off":
	case "avail":
		h.mustSend("<jose><L><ON>$", "<jose><OK>$")
	case "paused":
		setUp(h, "avail")
		h.mustSend("<jose><P><ON><1>$", "<jose><OK>$")
	case "manual":
		setUp(h, "avail")
		h.mustSend("<jose><A><85><40050500><Servico>$", "<jose><OK>$")
	case "dialer":
		setUp(h, "avail")
		h.dialerCall()
	case "consult":
		setUp(h, "manual")
		h.settle()
		h.mustSend("<jose><CONS><><7002>$", "<jose><OK>$")
	case "confAdded":
		setUp(h, "manual")
		h.settle()
		h.mustSend("<jose><CONF><ADD><11><40050501>$", "<jose><OK>$")
	case "conf":
		setUp(h, "confAdded")
		h.mustSend("<jose><CONF><ON>$", "<jose><OK>$")
	case "wrapManual":
		setUp(h, "manual")
		h.mustSend("<jose><D>$", "<jose><EndCall>$")
	case "wrapDialer":
		setUp(h, "dialer")
		h.mustSend("<jose><D>$", "<jose><EndCall>$")
	default:
		h.t.Fatalf("no setup %q", state)
	}
}

// dialerCall has the dialer connect a customer to the (only) available agent.
func (h *harness) dialerCall() {
	h.t.Helper()
	h.sw.mu.Lock()
	h.sw.dialerAttemptLocked(h.clock.Now())
	h.sw.mu.Unlock()
}

const (
	manualA = "<jose><A><><><7001><85><40050500><Servico><><>$"
	dialerA = "<jose><A><15001><0><9988><61><50473392><><><dialer.CampaignName=Discador;dialer.ExternalID=15001;dialer.ItemID=f80d65ce-f192-cc50-0ff9-2f1899e7d587;dialer.Description=;dialer.AttachInfo=CLI471966;dialer.ExternalData=;>$"
)

func TestCommands(t *testing.T) {
	t.Parallel()
	const (
		ok  = "<jose><OK>$"
		nlo = "ERR " + relay.CodeNotLoggedOn
		inv = "ERR " + relay.CodeInvalidState
		bad = "ERR " + relay.CodeBadArgs
	)
	const (
		off    = relay.StateLoggedOff
		avail  = relay.StateAvailable
		paused = relay.StatePaused
		busy   = relay.StateBusy
		wrap   = relay.StateWrapUp
	)
	endCall := "<jose><EndCall>$"
	tests := []struct {
		setup  string
		cmd    string
		reply  string
		state  relay.AgentState
		events []string
	}{
		// L ON binds and, with no IP Client here, logs on as available.
		{"off", "<jose><L><ON>$", ok, avail, nil},
		{"avail", "<jose><L><ON>$", ok, avail, nil},
		{"paused", "<jose><l><on>$", ok, paused, nil},
		{"manual", "<jose><L><ON>$", ok, busy, nil},
		{"wrapManual", "<jose><L><ON>$", ok, wrap, nil},
		// L OFF
		{"off", "<jose><L><OFF>$", nlo, off, nil},
		{"avail", "<jose><L><OFF>$", ok, off, nil},
		{"paused", "<jose><L><OFF>$", ok, off, nil},
		{"manual", "<jose><L><OFF>$", ok, off, []string{endCall}},
		{"dialer", "<jose><L><OFF>$", ok, off, []string{endCall}},
		{"wrapManual", "<jose><L><OFF>$", ok, off, nil},
		// P ON
		{"off", "<jose><P><ON><1>$", nlo, off, nil},
		{"avail", "<jose><P><ON><1>$", ok, paused, nil},
		{"paused", "<jose><P><ON><2>$", ok, paused, nil},
		{"manual", "<jose><P><ON><1>$", inv, busy, nil},
		{"wrapManual", "<jose><P><ON><1>$", ok, paused, nil},
		// P OFF
		{"off", "<jose><P><OFF>$", nlo, off, nil},
		{"avail", "<jose><P><OFF>$", ok, avail, nil},
		{"paused", "<jose><P><OFF>$", ok, avail, nil},
		{"manual", "<jose><P><OFF>$", inv, busy, nil},
		{"wrapManual", "<jose><P><OFF>$", ok, avail, nil},
		// POS OFF
		{"off", "<jose><POS><OFF>$", nlo, off, nil},
		{"avail", "<jose><POS><OFF>$", inv, avail, nil},
		{"paused", "<jose><POS><OFF>$", inv, paused, nil},
		{"manual", "<jose><POS><OFF>$", inv, busy, nil},
		{"wrapManual", "<jose><POS><OFF>$", ok, avail, nil},
		{"wrapDialer", "<jose><pos><off>$", ok, avail, nil},
		// S, for any login
		{"off", "<jose><S>$", "<jose><S><0>$", off, nil},
		{"avail", "<jose><S>$", "<jose><S><1>$", avail, nil},
		{"paused", "<jose><S>$", "<jose><S><2>$", paused, nil},
		{"manual", "<jose><S>$", "<jose><S><3>$", busy, nil},
		{"wrapManual", "<jose><S>$", "<jose><S><4>$", wrap, nil},
		{"avail", "<maria><S>$", "<maria><S><0>$", avail, nil},
		// TR: dialer calls only; in wrap-up it resumes the agent
		{"off", "<jose><TR><17/08/2010 15:00><><>$", nlo, off, nil},
		{"avail", "<jose><TR><17/08/2010 15:00><><>$", inv, avail, nil},
		{"paused", "<jose><TR><17/08/2010 15:00><><>$", inv, paused, nil},
		{"manual", "<jose><TR><17/08/2010 15:00><><>$", inv, busy, nil},
		{"wrapManual", "<jose><TR><17/08/2010 15:00><><>$", inv, wrap, nil},
		{"dialer", "<jose><TR><17/08/2099 15:00><><>$", ok, busy, nil},
		{"dialer", "<jose><TR><17/08/2099 15:00><40050500><jose>$", ok, busy, nil},
		{"dialer", "<jose><TR><7/8/2099 9:05><><jose>$", ok, busy, nil},
		{"wrapDialer", "<jose><TR><17/08/2099 15:00><><>$", ok, avail, nil},
		{"dialer", "<jose><TR><2099-08-17 15:00><><>$", bad, busy, nil},
		{"dialer", "<jose><TR><32/08/2099 15:00><><>$", bad, busy, nil},
		{"dialer", "<jose><TR><17/08/2099 25:00><><>$", bad, busy, nil},
		{"dialer", "<jose><TR><17/08/2099><><>$", bad, busy, nil},
		{"dialer", "<jose><TR><17/08/2099 15:00><4005-0500><>$", bad, busy, nil},
		{"avail", "<jose><TR><soon><><>$", bad, avail, nil},
		// C S: the four outcomes, dialer calls only
		{"off", "<jose><C><S><Fax>$", nlo, off, nil},
		{"avail", "<jose><C><S><Fax>$", inv, avail, nil},
		{"manual", "<jose><C><S><Fax>$", inv, busy, nil},
		{"wrapManual", "<jose><C><S><Fax>$", inv, wrap, nil},
		{"dialer", "<jose><C><S><BloquedPhone>$", ok, busy, nil},
		{"dialer", "<jose><C><S><OutOfArea>$", ok, busy, nil},
		{"dialer", "<jose><C><S><EletronicResponse>$", ok, busy, nil},
		{"wrapDialer", "<jose><C><S><Fax>$", ok, wrap, nil},
		{"dialer", "<jose><C><S><fax>$", bad, busy, nil},
		{"dialer", "<jose><C><S><Busy>$", bad, busy, nil},
		{"avail", "<jose><C><S><Busy>$", bad, avail, nil},
		// A: dial from available or wrap-up
		{"off", "<jose><A><85><40050500><>$", nlo, off, nil},
		{"avail", "<jose><A><85><40050500><>$", ok, busy, []string{
			"<jose><A><><><7001><85><40050500><><><>$",
			`<jose><G><c:\records\2015\1\16\7001-20150116-163837-P1C01-Station.wav>$`,
		}},
		{"avail", "<jose><A><><40050500><Serviço_Emprestimo>$", ok, busy, []string{
			"<jose><A><><><7001><><40050500><Serviço_Emprestimo><><>$",
			`<jose><G><c:\records\2015\1\16\7001-20150116-163837-P1C01-Station.wav>$`,
		}},
		{"wrapManual", "<jose><A><11><987654321><Campanha_Cobrança>$", ok, busy, []string{
			"<jose><A><><><7001><11><987654321><Campanha_Cobrança><><>$",
			`<jose><G><c:\records\2015\1\16\7001-20150116-163837-P1C02-Station.wav>$`,
		}},
		{"paused", "<jose><A><85><40050500><>$", inv, paused, nil},
		{"manual", "<jose><A><85><40050500><>$", inv, busy, nil},
		{"dialer", "<jose><A><85><40050500><>$", inv, busy, nil},
		{"avail", "<jose><A><85><4005-0500><>$", bad, avail, nil},
		{"avail", "<jose><A><8a><40050500><>$", bad, avail, nil},
		{"avail", "<jose><A><><+5585400505><>$", bad, avail, nil},
		{"avail", "<jose><A><85><1234567890123456><>$", bad, avail, nil},
		// D: the reply is EndCall; no separate event
		{"off", "<jose><D>$", nlo, off, nil},
		{"avail", "<jose><D>$", inv, avail, nil},
		{"paused", "<jose><D>$", inv, paused, nil},
		{"manual", "<jose><D>$", endCall, wrap, nil},
		{"dialer", "<jose><D>$", endCall, wrap, nil},
		{"wrapManual", "<jose><D>$", inv, wrap, nil},
		// AC: the current call's announcing frame
		{"off", "<jose><AC>$", nlo, off, nil},
		{"avail", "<jose><AC>$", inv, avail, nil},
		{"manual", "<jose><AC>$", manualA, busy, nil},
		{"dialer", "<jose><AC>$", dialerA, busy, nil},
		{"wrapManual", "<jose><AC>$", inv, wrap, nil},
		// CONS: consult from an answered call; CONS OFF releases it
		{"off", "<jose><CONS><7002>$", nlo, off, nil},
		{"avail", "<jose><CONS><7002>$", inv, avail, nil},
		{"wrapManual", "<jose><CONS><7002>$", inv, wrap, nil},
		{"manual", "<jose><CONS><7002>$", ok, busy, nil},
		{"dialer", "<jose><CONS><85><40050500>$", ok, busy, nil},
		{"manual", "<jose><CONS><70-02>$", bad, busy, nil},
		{"avail", "<jose><CONS><8a><7002>$", bad, avail, nil},
		{"consult", "<jose><CONS><7003>$", inv, busy, nil},
		{"manual", "<jose><CONS><OFF>$", inv, busy, nil},
		{"consult", "<jose><CONS><OFF>$", ok, busy, nil},
		// XFER: hands the held call to the consulted party; the agent's call ends
		{"off", "<jose><XFER>$", nlo, off, nil},
		{"avail", "<jose><XFER>$", inv, avail, nil},
		{"manual", "<jose><XFER>$", inv, busy, nil},
		{"consult", "<jose><XFER>$", ok, wrap, []string{endCall}},
		// CONF: ADD participants, ON starts, OFF cancels
		{"off", "<jose><CONF><ADD><7002>$", nlo, off, nil},
		{"avail", "<jose><CONF><ADD><7002>$", inv, avail, nil},
		{"manual", "<jose><CONF><ADD><7002>$", ok, busy, nil},
		{"confAdded", "<jose><CONF><ADD><85><40050502>$", ok, busy, nil},
		{"manual", "<jose><CONF><ADD><x>$", bad, busy, nil},
		{"conf", "<jose><CONF><ADD><7002>$", inv, busy, nil},
		{"manual", "<jose><CONF><ON>$", "ERR " + relay.CodeRejected, busy, nil},
		{"confAdded", "<jose><CONF><ON>$", ok, busy, nil},
		{"conf", "<jose><CONF><ON>$", ok, busy, nil},
		{"avail", "<jose><CONF><ON>$", inv, avail, nil},
		{"conf", "<jose><CONF><OFF>$", ok, busy, nil},
		{"manual", "<jose><CONF><OFF>$", ok, busy, nil},
		{"wrapManual", "<jose><CONF><OFF>$", inv, wrap, nil},
		// the monitoring login is not an agent
		{"off", "<ADMSOCKET><L><ON>$", "<ADMSOCKET><OK>$", off, nil},
		{"off", "<ADMSOCKET><S>$", "<ADMSOCKET><S><0>$", off, nil},
		{"off", "<ADMSOCKET><P><OFF>$", "ERR " + relay.CodeRejected, off, nil},
	}
	for _, tc := range tests {
		t.Run(tc.setup+" "+tc.cmd, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, Config{Seed: 7})
			setUp(h, tc.setup)
			h.settle()
			h.rec.drain(t)
			if got := h.send(tc.cmd); got != tc.reply {
				t.Errorf("reply %s, want %s", got, tc.reply)
			}
			h.state("jose", tc.state)
			h.expect(tc.events...)
		})
	}
}

// The extension verbs leave their state on the call, where the EPBX hub
// and status pages read it, and a transfer is counted.
func TestExtensionState(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{Seed: 7})
	setUp(h, "conf")
	if _, c := h.sw.Agent("jose"); c == nil || !c.Conference || len(c.Participants) != 1 || c.Participants[0] != "1140050501" {
		t.Fatalf("conference call: %+v", c)
	}
	h.mustSend("<jose><CONF><OFF>$", "<jose><OK>$")
	h.mustSend("<jose><CONS><><7002>$", "<jose><OK>$")
	if _, c := h.sw.Agent("jose"); c == nil || c.Conference || c.Participants != nil || c.Consult != "7002" {
		t.Fatalf("consulting call: %+v", c)
	}
	h.mustSend("<jose><XFER>$", "<jose><OK>$")
	if st := h.sw.Stats(); st.Transferred != 1 || st.Conferences != 1 {
		t.Fatalf("stats %+v", st)
	}
	if _, c := h.sw.Agent("jose"); c != nil {
		t.Fatalf("call after transfer: %+v", c)
	}
}

// The setups themselves produce the announced calls, in order.
func TestSetupEvents(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{Seed: 7})
	setUp(h, "manual")
	h.expect(manualA, `<jose><G><c:\records\2015\1\16\7001-20150116-163837-P1C01-Station.wav>$`)
	h.mustSend("<jose><D>$", "<jose><EndCall>$")
	h.mustSend("<jose><POS><OFF>$", "<jose><OK>$")
	h.dialerCall()
	h.expect(dialerA, `<jose><G><c:\records\2015\1\16\7001-20150116-163837-P1C02-Station.wav>$`)
	st, c := h.sw.Agent("jose")
	if st != relay.StateBusy || c == nil || c.Kind != Dialer || c.Phone != "50473392" || c.Service != "Discador" {
		t.Fatalf("agent: %v %+v", st, c)
	}
}

// Extensions count up in the order agents first log on, and are kept.
func TestExtensions(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{FirstExtension: 2000})
	for _, login := range []string{"maria", "jose", "ana"} {
		h.mustSend("<"+login+"><L><ON>$", "<"+login+"><OK>$")
	}
	h.mustSend("<maria><L><OFF>$", "<maria><OK>$")
	h.mustSend("<maria><L><ON>$", "<maria><OK>$")
	for login, want := range map[string]string{"maria": "2000", "jose": "2001", "ana": "2002"} {
		if got, ok := h.sw.Extension(login); !ok || got != want {
			t.Errorf("%s: extension %q, want %s", login, got, want)
		}
	}
	if _, ok := h.sw.Extension("nobody"); ok {
		t.Error("unknown login has an extension")
	}
}

// A command waits for its think time on the clock before it is carried out.
func TestThinkTime(t *testing.T) {
	t.Parallel()
	h := build(t, Config{ThinkTime: 300 * time.Millisecond})
	got := make(chan string, 1)
	go func() { got <- h.send("<jose><L><ON>$") }()
	if !h.clock.WaitForWaiters(1, safety) {
		t.Fatal("the command did not wait on the clock")
	}
	h.state("jose", relay.StateLoggedOff)
	h.clock.Advance(300 * time.Millisecond)
	if r := <-got; r != "<jose><OK>$" {
		t.Fatalf("reply %s", r)
	}
	h.state("jose", relay.StateAvailable)
}
