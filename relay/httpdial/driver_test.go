package httpdial_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/drivertest"
	"github.com/ctirelay/ctirelay/relay/httpdial"
	"github.com/ctirelay/ctirelay/relay/relaytest"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
)

// How the platform's answers become the relay's: 2xx OK, 4xx a permanent
// ERR with the body's message (bounded), 408/429/5xx retried, a redirect
// refused and not followed.
func TestAnswers(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 10000)
	cases := []struct {
		name      string
		status    int
		body      string
		ok        bool
		transient bool
		message   string // the ERR message, for permanent failures
	}{
		{"200", 200, "OK", true, false, ""},
		{"202", 202, "", true, false, ""},
		{"204", 204, "", true, false, ""},
		{"400 text", 400, "ramal  inexistente\n", false, false, "the platform answered 400: ramal inexistente"},
		{"404 JSON", 404, `{"status":"erro","mensagem":"Ramal 3501 não encontrado"}`, false, false, "the platform answered 404: Ramal 3501 não encontrado"},
		{"401 empty", 401, "", false, false, "the platform answered 401: (no message)"},
		{"403 bounded", 403, long, false, false, "the platform answered 403: " + strings.Repeat("x", httpdial.DefaultMaxMessage) + "…"},
		{"404 HTML", 404, "<html><head><style>b{}</style><title>404</title></head><body><h1>Not Found</h1></body></html>", false, false, "the platform answered 404: 404 Not Found"},
		{"302", 302, "", false, false, "the platform answered 302 (a redirect, not followed)"},
		{"408", 408, "", false, true, ""},
		{"429", 429, "", false, true, ""},
		{"500", 500, "boom", false, true, ""},
		{"503", 503, "", false, true, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p := newPlatform(t)
			p.answer(c.status, c.body)
			d := newDriver(t, p.config(t))
			frames, err := execute(t, d, "<jose><A><85><40050500><>$")
			switch {
			case c.ok:
				if err != nil || len(frames) != 1 || frames[0].String() != "<jose><OK>$" {
					t.Fatalf("Execute = %v, %v; want OK", frames, err)
				}
			case c.transient:
				if !relay.IsTransient(err) || errors.Is(err, relay.ErrInDoubt) {
					t.Fatalf("Execute = %v; want transient, not in doubt", err)
				}
			default:
				var pe *relay.ProtocolError
				if !errors.As(err, &pe) || pe.Code != relay.CodeRejected || pe.Message != c.message {
					t.Fatalf("Execute = %v; want ERR %s %q", err, relay.CodeRejected, c.message)
				}
			}
			if n := len(p.requests()); n != 1 {
				t.Fatalf("the platform saw %d requests, want 1 (redirects are not followed)", n)
			}
		})
	}
}

// A platform that cannot be reached has not dialled: retried.
func TestConnectionRefusedIsTransient(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(l.Addr().String())
	l.Close()
	d := newDriver(t, httpdial.Config{Protocol: "http", Host: host, Port: port, Agents: map[string]httpdial.Agent{"jose": {Extension: "3501"}}})
	_, err = execute(t, d, "<jose><A><85><40050500><>$")
	if !relay.IsTransient(err) || errors.Is(err, relay.ErrInDoubt) {
		t.Fatalf("Execute = %v; want transient, not in doubt", err)
	}
}

// A platform that received the dial and never answers may have dialled: in
// doubt, whether the connection breaks, the request times out or the relay
// gives up.
func TestSentAndUnansweredIsInDoubt(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		tune func(*httpdial.Config)
		end  func(p *platform, cancel context.CancelFunc)
	}{
		{"connection reset after sending", nil, func(p *platform, _ context.CancelFunc) { p.srv.CloseClientConnections() }},
		{"caller gives up", nil, func(_ *platform, cancel context.CancelFunc) { cancel() }},
		// The one wall-clock case: http.Client's timeout cannot take an
		// injected clock. Nothing is asserted about how long it takes.
		{"request timeout", func(c *httpdial.Config) { c.RequestTimeout = 50 * time.Millisecond }, func(*platform, context.CancelFunc) {}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p := newPlatform(t)
			cfg := p.config(t)
			if c.tune != nil {
				c.tune(&cfg)
			}
			d := newDriver(t, cfg)
			reached, release := p.Hold()
			defer release()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() {
				_, err := d.Execute(ctx, drivertest.Command(t, "<jose><A><85><40050500><>$"))
				done <- err
			}()
			select {
			case <-reached:
			case <-time.After(wait.Safety):
				t.Fatal("the dial never reached the platform")
			}
			c.end(p, cancel)
			var err error
			select {
			case err = <-done:
			case <-time.After(wait.Safety):
				t.Fatal("Execute never returned")
			}
			if !errors.Is(err, relay.ErrInDoubt) {
				t.Fatalf("Execute = %v; want relay.ErrInDoubt", err)
			}
			if n := len(p.requests()); n != 1 {
				t.Fatalf("the platform saw %d dials", n)
			}
		})
	}
}

// Verbs with no URL are unsupported; a configured hang-up URL makes D one
// request; S is answered from the driver's knowledge.
func TestVerbs(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	cfg := p.config(t)
	cfg.Auth, cfg.Global = httpdial.AuthURLToken, httpdial.Credentials{Token: "tok"}
	cfg.Templates = map[relay.Verb]string{"D": "$protocolo://$ip:$porta/api/desligar?ramal=$ramal$tokenUrl"}
	d := newDriver(t, cfg)
	for _, v := range []relay.Verb{relay.VerbLogon, relay.VerbPause, relay.VerbWrapUpEnd, relay.VerbCallback, relay.VerbCallOutcome, relay.VerbCurrentCall} {
		if d.Supports(v) {
			t.Errorf("Supports(%s) with no URL for it", v)
		}
		_, err := execute(t, d, drivertest.Samples[v])
		if relay.AsProtocolError(err).Code != relay.CodeUnsupported {
			t.Errorf("%s: %v, want UNSUPPORTED", v, err)
		}
	}
	if !d.Supports(relay.VerbHangUp) || !d.Supports(relay.VerbDial) || !d.Supports(relay.VerbStatus) {
		t.Fatal("A, D (with its URL) and S are supported")
	}
	if f, err := execute(t, d, "<jose><D>$"); err != nil || f[0].String() != "<jose><OK>$" {
		t.Fatalf("D = %v, %v", f, err)
	}
	if got := p.requests()[0].URI; got != "/api/desligar?ramal=3501&token=tok" {
		t.Fatalf("D sent %s", got)
	}
	for frame, want := range map[string]string{"<jose><S>$": "<jose><S><1>$", "<maria><S>$": "<maria><S><0>$"} {
		if f, err := execute(t, d, frame); err != nil || f[0].String() != want {
			t.Errorf("%s = %v, %v; want %s", frame, f, err, want)
		}
	}
	if _, err := execute(t, d, "<maria><A><85><40050500><>$"); relay.AsProtocolError(err).Code != relay.CodeNotLoggedOn {
		t.Fatalf("a dial for a login with no extension: %v", err)
	}
	if _, err := execute(t, d, "<jose><A><85><4005x0500><>$"); relay.AsProtocolError(err).Code != relay.CodeBadArgs {
		t.Fatalf("a dial to no number: %v", err)
	}
	if n := len(p.requests()); n != 1 {
		t.Fatalf("refused commands reached the platform: %d requests", n)
	}
}

// Tokens and passwords never reach logs, errors (hence T_TTO and the
// journal) or ERR messages, even when the platform echoes them.
func TestSecretsAreRedacted(t *testing.T) {
	t.Parallel()
	const token, password = "tok-SECRET-123", "pw-SECRET-456"
	for _, status := range []int{400, 500, 0} {
		p := newPlatform(t)
		logs := &relaytest.Buffer{}
		cfg := p.config(t)
		cfg.Auth, cfg.Global, cfg.Logger = httpdial.AuthURLToken, httpdial.Credentials{Token: token}, logs.Logger()
		cfg.Agents = map[string]httpdial.Agent{"jose": {Extension: "3501", Credentials: httpdial.Credentials{User: "jose", Password: password}}}
		var err error
		if status == 0 {
			// Sent and cut: the in-doubt error.
			reached, release := p.Hold()
			d := newDriver(t, cfg)
			done := make(chan error, 1)
			go func() { _, err := execute(t, d, "<jose><A><85><40050500><>$"); done <- err }()
			<-reached
			p.srv.CloseClientConnections()
			err = <-done
			release()
		} else {
			p.answer(status, "bad token "+token+" for password "+password)
			_, err = execute(t, newDriver(t, cfg), "<jose><A><85><40050500><>$")
		}
		if err == nil {
			t.Fatalf("status %d: no error", status)
		}
		for where, text := range map[string]string{"error": err.Error(), "ERR message": relay.AsProtocolError(err).Message, "logs": logs.String()} {
			if strings.Contains(text, "SECRET") {
				t.Errorf("status %d: the %s carries a secret: %s", status, where, text)
			}
		}
		if !strings.Contains(logs.String(), "token="+httpdial.Redacted) {
			t.Errorf("status %d: the log does not show the redacted URL: %s", status, logs.String())
		}
		if got := p.requests()[0].URI; !strings.HasSuffix(got, "&token="+token) {
			t.Errorf("status %d: the platform got %s, not the token", status, got)
		}
	}
}

// Close cuts a request under way (in doubt: it was sent) and refuses the
// ones after it as not sent.
func TestCloseCutsRequests(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	d := newDriver(t, p.config(t))
	reached, release := p.Hold()
	defer release()
	done := make(chan error, 1)
	go func() { _, err := execute(t, d, "<jose><A><85><40050500><>$"); done <- err }()
	<-reached
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, relay.ErrInDoubt) {
		t.Fatalf("a dial cut by Close: %v; want in doubt", err)
	}
	_, err := execute(t, d, "<jose><A><85><40050500><>$")
	if !relay.IsTransient(err) || errors.Is(err, relay.ErrInDoubt) || !errors.Is(err, httpdial.ErrClosed) {
		t.Fatalf("after Close: %v; want transient ErrClosed", err)
	}
}
