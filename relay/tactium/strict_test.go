package tactium_test

import (
	"strings"
	"testing"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
	"github.com/ctirelay/ctirelay/relay/tactium"
)

// TestDriverAgainstTheDocument drives a server that answers exactly as the
// Tactium document prints, and checks both what the driver wrote and what it
// made of the answers.
func TestDriverAgainstTheDocument(t *testing.T) {
	t.Parallel()
	fake := startFake(t, strictAnswer(t))
	d := newDriver(t, tactium.Config{Addr: fake.addr()})
	events := newSink()
	if err := d.Open(t.Context(), events); err != nil {
		t.Fatal(err)
	}
	mon := fake.monitor(t)

	steps := []struct{ send, want string }{
		{"<jose><L><ON>$", "<jose><OK>$"},
		{"<jose><S>$", "<jose><S><1>$"},
		{"<jose><P><ON><1>$", "<jose><OK>$"},
		{"<jose><P><OFF>$", "<jose><OK>$"},
		{"<jose><A><85><40050500><>$", "<jose><OK>$"},
		{"<jose><AC>$", dialerEventRead("jose")},
		{"<jose><C><S><EletronicResponse>$", "<jose><OK>$"},
		{"<jose><TR><17/08/2010 15:00><40050500><jose>$", "<jose><OK>$"},
		{"<jose><D>$", "<jose><EndCall>$"}, // the document answers <Jose><EndCall>$; the ERP reads its own spelling
		{"<jose><POS><OFF>$", "<jose><OK>$"},
		{"<jose><L><OFF>$", "<jose><OK>$"},
	}
	for _, s := range steps {
		if got := execute(t, d, s.send); got != s.want {
			t.Fatalf("Execute(%s) = %s, want %s", s.send, got, s.want)
		}
	}

	// Section 5's events, byte for byte, with replies mixed in that must not
	// become events.
	for _, ev := range []string{
		dialerEvent("Agente"),
		`<jose><G><c:\records\2015\1\16\7016-20150116-163837-P2C05-Station.wav>$`,
		"<jose><OK>$",
		"<jose><R><><85><40050500><><7017><><>$",
		"<jose><S><3>$",
		"\r\n<jose><EndCall>$",
	} {
		if _, err := mon.Write([]byte(ev)); err != nil {
			t.Fatal(err)
		}
	}
	events.expect(t,
		dialerEventRead("Agente"),
		`<jose><G><c:\records\2015\1\16\7016-20150116-163837-P2C05-Station.wav>$`,
		"<jose><R><><85><40050500><><7017><><>$",
		"<jose><EndCall>$",
	)
	wait.For(t, "the monitoring connection to be up", func() bool { return d.Status().Monitoring })

	// The wire: the monitor only logged on; every command connection first
	// identified its agent (section 2.1); D and AC retired theirs.
	want := []string{
		"c1 <ADMSOCKET><L><ON>$",
		"c2 <jose><S>$", "c2 <jose><L><ON>$", "c2 <jose><S>$", "c2 <jose><P><ON><1>$",
		"c2 <jose><P><OFF>$", "c2 <jose><A><85><40050500><>$", "c2 <jose><AC>$",
		"c3 <jose><S>$", "c3 <jose><C><S><EletronicResponse>$", "c3 <jose><TR><17/08/2010 15:00><40050500><jose>$", "c3 <jose><D>$",
		"c4 <jose><S>$", "c4 <jose><POS><OFF>$", "c4 <jose><L><OFF>$",
	}
	if got := fake.received(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("the server received:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestDriverSupportsEveryTactiumVerb(t *testing.T) {
	t.Parallel()
	d := newDriver(t, tactium.Config{Addr: "127.0.0.1"})
	for _, v := range relay.Verbs {
		if !d.Supports(v) {
			t.Errorf("Supports(%s) = false", v)
		}
	}
	if d.Supports("XFER") {
		t.Error("Supports(XFER) = true")
	}
}

func TestDriverAnswersERR(t *testing.T) {
	t.Parallel()
	fake := startFake(t, func(frame string) string {
		switch frame {
		case "<jose><S>$":
			return "<jose><S><0>$"
		case "<jose><P><OFF>$":
			return "<jose><ERR><NOT_LOGGED_ON><agent jose is not logged on>$"
		case "<jose><POS><OFF>$":
			return "<JOSE><ERR>$"
		case "<jose><L><ON>$":
			return "<><ERR><MALFORMED><unreadable>$"
		}
		return drop
	})
	d := newDriver(t, tactium.Config{Addr: fake.addr()})
	tests := []struct {
		send, code, msg string
	}{
		{"<jose><P><OFF>$", relay.CodeNotLoggedOn, "agent jose is not logged on"},
		{"<jose><POS><OFF>$", relay.CodeRejected, "the switch refused POS"},
		{"<jose><L><ON>$", relay.CodeMalformed, "unreadable"},
	}
	for _, tt := range tests {
		_, err := d.Execute(t.Context(), command(t, tt.send))
		p := relay.AsProtocolError(err)
		if err == nil || relay.IsTransient(err) || p.Code != tt.code || p.Message != tt.msg {
			t.Fatalf("Execute(%s) = %v, want permanent %s %q", tt.send, err, tt.code, tt.msg)
		}
	}
	if _, err := d.Execute(t.Context(), command(t, "<ADMSOCKET><S>$")); relay.AsProtocolError(err).Code != relay.CodeRejected {
		t.Fatalf("Execute(ADMSOCKET S) = %v, want REJECTED", err)
	}
}
