package tactium_test

import (
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/internal/tlstest"

	"github.com/ctirelay/ctirelay/bridges/tactiumserver"
	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
	"github.com/ctirelay/ctirelay/relay/sim"
	"github.com/ctirelay/ctirelay/relay/tactium"
)

// TestDriverWithSimulatedSwitch runs the driver against ctirelay's own server
// serving the simulated switch, in process.
func TestDriverWithSimulatedSwitch(t *testing.T) {
	t.Parallel()
	s := startSimServer(t, &tactiumserver.Server{}, sim.Config{Seed: 1, TalkTime: time.Minute})
	d := newDriver(t, tactium.Config{Addr: s.addr()})
	events := newSink()
	if err := d.Open(t.Context(), events); err != nil {
		t.Fatal(err)
	}
	wait.For(t, "the monitoring connection", func() bool { return s.srv.Stats().Monitoring == 1 })

	steps := []struct{ send, want string }{
		{"<jose><S>$", "<jose><S><0>$"},
		{"<jose><L><ON>$", "<jose><OK>$"},
		{"<maria><L><ON>$", "<maria><OK>$"},
		{"<jose><S>$", "<jose><S><1>$"},
		{"<jose><D>$", "error: INVALID_STATE: no current call"},
		{"<jose><A><85><40050500><>$", "<jose><OK>$"},
	}
	for _, st := range steps {
		if got := execute(t, d, st.send); got != st.want {
			t.Fatalf("Execute(%s) = %s, want %s", st.send, got, st.want)
		}
	}
	events.expect(t,
		"<jose><A><><><7001><85><40050500><><><>$",
		`<jose><G><c:\records\2026\1\16\7001-20260116-163837-P1C01-Station.wav>$`,
	)
	if got := execute(t, d, "<jose><AC>$"); got != "<jose><A><><><7001><85><40050500><><><>$" {
		t.Fatalf("AC = %s", got)
	}
	s.clock.Advance(time.Minute) // the customer hangs up
	events.expect(t, "<jose><EndCall>$")
	if got := execute(t, d, "<jose><S>$"); got != "<jose><S><4>$" {
		t.Fatalf("S after the call = %s, want wrap-up", got)
	}

	// D's answer is the EndCall: it is a reply, not also an event.
	for _, st := range []struct{ send, want string }{
		{"<maria><A><><40050501><Serviço_Emprestimo>$", "<maria><OK>$"},
		{"<maria><D>$", "<maria><EndCall>$"},
		{"<jose><POS><OFF>$", "<jose><OK>$"},
		{"<jose><A><11><30001234><>$", "<jose><OK>$"},
	} {
		if got := execute(t, d, st.send); got != st.want {
			t.Fatalf("Execute(%s) = %s, want %s", st.send, got, st.want)
		}
	}
	events.expect(t,
		"<maria><A><><><7002><><40050501><Serviço_Emprestimo><><>$",
		`<maria><G><c:\records\2026\1\16\7002-20260116-163937-P1C02-Station.wav>$`,
		"<jose><A><><><7001><11><30001234><><><>$",
		`<jose><G><c:\records\2026\1\16\7001-20260116-163937-P1C03-Station.wav>$`,
	)
}

// TestDriverTLSSecretAndWindows1252 runs the whole path with the server's
// options on: TLS, the monitoring secret and Windows-1252 on the wire.
func TestDriverTLSSecretAndWindows1252(t *testing.T) {
	t.Parallel()
	serverTLS, clientTLS := tlstest.SelfSigned(t)
	s := startSimServer(t, &tactiumserver.Server{TLS: serverTLS, AdminSecret: "s3cret", Charset: relay.Windows1252}, sim.Config{Seed: 1})
	d := newDriver(t, tactium.Config{Addr: s.addr(), TLS: clientTLS, AdminSecret: "s3cret", Charset: relay.Windows1252})
	events := newSink()
	if err := d.Open(t.Context(), events); err != nil {
		t.Fatal(err)
	}
	wait.For(t, "the monitoring connection", func() bool { return s.srv.Stats().Monitoring == 1 && d.Status().Monitoring })
	if got := execute(t, d, "<joão><L><ON>$"); got != "<joão><OK>$" {
		t.Fatalf("L ON = %s", got)
	}
	if got := execute(t, d, "<joão><A><><40050500><Serviço>$"); got != "<joão><OK>$" {
		t.Fatalf("A = %s", got)
	}
	events.expect(t,
		"<joão><A><><><7001><><40050500><Serviço><><>$",
		`<joão><G><c:\records\2026\1\16\7001-20260116-163837-P1C01-Station.wav>$`,
	)
}

func TestDriverWrongSecretKeepsRetrying(t *testing.T) {
	t.Parallel()
	s := startSimServer(t, &tactiumserver.Server{AdminSecret: "s3cret"}, sim.Config{Seed: 1})
	clock := relaytest.NewClock(epoch)
	d := newDriver(t, tactium.Config{Addr: s.addr(), AdminSecret: "guess", Clock: clock})
	if err := d.Open(t.Context(), newSink()); err != nil {
		t.Fatal(err)
	}
	// Refused, the driver waits out a backoff before the next attempt.
	if !clock.WaitForWaiters(1, safety) {
		t.Fatal("no reconnection backoff after the refusal")
	}
	if d.Status().Monitoring || s.srv.Stats().Monitoring != 0 {
		t.Fatal("monitoring with the wrong secret")
	}
	// Commands do not need the monitoring connection.
	if got := execute(t, d, "<jose><L><ON>$"); got != "<jose><OK>$" {
		t.Fatalf("L ON = %s", got)
	}
}
