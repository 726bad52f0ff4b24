package tactiumserver

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/internal/tlstest"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
)

func TestServerFraming(t *testing.T) {
	t.Parallel()
	big := "<jose><G><" + strings.Repeat("x", 40) + ">$"
	tests := []struct {
		name   string
		chunks []string
		want   string
	}{
		{"one frame", []string{"<jose><S>$"}, "<jose><S><1>$"},
		{"split across reads", []string{"<jo", "se><", "S", ">", "$"}, "<jose><S><1>$"},
		{"several frames in one read", []string{"<jose><S>$<maria><L><ON>$<jose><P><ON><1>$"}, "<jose><S><1>$<maria><OK>$<jose><OK>$"},
		{"CR/LF and spaces between frames", []string{"<jose><S>$\r\n", "  <jose><P><OFF>$\n\r\n"}, "<jose><S><1>$<jose><OK>$"},
		{"garbage before a frame", []string{"xyz<jose><S>$"}, "<><ERR><MALFORMED><malformed frame at byte 0: 3 unexpected bytes outside a frame>$<jose><S><1>$"},
		{"garbage inside a frame", []string{"<jose>x<S>$<jose><S>$"}, "<jose><ERR><MALFORMED><malformed frame at byte 6: unexpected 'x' between fields>$<jose><S><1>$"},
		{"oversized frame", []string{big[:20], big[20:] + "<jose><S>$"}, "<jose><ERR><TOO_LARGE><malformed frame at byte 0: frame too large: over 32 bytes>$<jose><S><1>$"},
		{"unknown verb", []string{"<jose><XYZ>$<jose><S>$"}, `<jose><ERR><UNKNOWN_VERB><unknown verb "XYZ">$<jose><S><1>$`},
		{"bad arguments", []string{"<jose><P><ON>$<jose><S>$"}, "<jose><ERR><BAD_ARGS><P: expected <ON)<code) or <OFF)>$<jose><S><1>$"},
		{"no login", []string{"<><S>$<jose><S>$"}, "<><ERR><MALFORMED><the first field (agent login) is empty>$<jose><S><1>$"},
		{"invalid utf-8", []string{"<jose><A><><4005><Servi\xe7o>$<jose><S>$"}, "<jose><ERR><ENCODING><frame is not valid utf-8: field 5 is not valid utf-8>$<jose><S><1>$"},
		{"switch refuses", []string{"<jose><D>$<jose><S>$"}, "<jose><ERR><INVALID_STATE><no current call>$<jose><S><1>$"},
		{"frame with no fields", []string{"$<jose><S>$"}, "<><ERR><MALFORMED><malformed frame at byte 0: 1 unexpected bytes outside a frame>$<jose><S><1>$"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			backend := &fakeBackend{handle: func(_ context.Context, cmd relay.Command) ([]relay.Frame, error) {
				switch cmd.Verb {
				case relay.VerbStatus:
					return []relay.Frame{relay.StatusReply(cmd.Login, relay.StateAvailable)}, nil
				case relay.VerbHangUp:
					return nil, relay.Errorf(relay.CodeInvalidState, "no current call")
				}
				return nil, nil
			}}
			srv := startServer(t, &Server{Backend: backend, Limits: Limits{MaxFrameBytes: 32}})
			c := dial(t, srv)
			for _, chunk := range tt.chunks {
				c.Send(chunk)
			}
			c.Expect(tt.want)
			// The connection is kept after every error.
			c.RoundTrip("<ana><S>$", "<ana><S><1>$")
		})
	}
}

func TestServerEndOfStreamFlushesReplies(t *testing.T) {
	t.Parallel()
	srv := startServer(t, &Server{})
	c := dial(t, srv)
	c.Send("<jose><S>$<jose><L><ON>$<jose")
	c.Conn().(interface{ CloseWrite() error }).CloseWrite()
	got := strings.Join(c.ExpectClosed(), "")
	want := "<jose><S><1>$<jose><OK>$<><ERR><MALFORMED><malformed frame at byte 24: stream ended inside a frame>$"
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestServerBinding(t *testing.T) {
	t.Parallel()
	srv := startServer(t, &Server{})
	admin := dial(t, srv)
	admin.RoundTrip("<ADMSOCKET><L><ON>$", "<ADMSOCKET><OK>$")
	admin2 := dial(t, srv)
	admin2.RoundTrip("<ADMSOCKET><S>$", "<ADMSOCKET><OK>$") // section 2.1's form
	jose := dial(t, srv)
	jose.RoundTrip("<Jose><L><ON>$", "<Jose><OK>$") // logins bind without regard to case
	maria := dial(t, srv)
	maria.RoundTrip("<maria><S>$", "<maria><S><1>$") // S binds too
	unbound := dial(t, srv)
	unbound.RoundTrip("<ana><P><OFF>$", "<ana><OK>$") // other verbs do not bind

	if st := srv.Stats(); st.Connections != 5 || st.Monitoring != 2 {
		t.Fatalf("stats = %+v, want 5 connections, 2 monitoring", st)
	}
	events := []relay.Frame{
		relay.Recording("jose", `c:\records\2015\1\16\7016-20150116-163837-P2C05-Station.wav`),
		relay.EndCall("maria"),
		relay.EndCall("ana"),
		relay.EndCall("jose"),
	}
	for _, f := range events {
		srv.Publish(f)
	}
	all := `<jose><G><c:\records\2015\1\16\7016-20150116-163837-P2C05-Station.wav>$<maria><EndCall>$<ana><EndCall>$<jose><EndCall>$`
	admin.Expect(all)
	admin2.Expect(all)
	// A probe answered right after the events shows nothing else was queued.
	jose.Expect(`<jose><G><c:\records\2015\1\16\7016-20150116-163837-P2C05-Station.wav>$<jose><EndCall>$`)
	jose.RoundTrip("<jose><S>$", "<jose><S><1>$")
	maria.Expect("<maria><EndCall>$")
	maria.RoundTrip("<maria><S>$", "<maria><S><1>$")
	unbound.RoundTrip("<ana><P><OFF>$", "<ana><OK>$")

	// L OFF on ADMSOCKET stops the flood.
	admin.RoundTrip("<ADMSOCKET><L><OFF>$", "<ADMSOCKET><OK>$")
	srv.Publish(relay.EndCall("jose"))
	admin2.Expect("<jose><EndCall>$")
	admin.RoundTrip("<ADMSOCKET><X>$", "<ADMSOCKET><ERR><REJECTED><ADMSOCKET is the monitoring login: send <ADMSOCKET)<L)<ON)$>$")
}

func TestServerAdminSecret(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, logon, want string
		admin             bool
	}{
		{"missing", "<ADMSOCKET><L><ON>$", "<ADMSOCKET><ERR><UNAUTHORIZED><wrong or missing secret: send <ADMSOCKET)<L)<ON)<secret)$>$", false},
		{"wrong", "<ADMSOCKET><L><ON><guess>$", "<ADMSOCKET><ERR><UNAUTHORIZED><wrong or missing secret: send <ADMSOCKET)<L)<ON)<secret)$>$", false},
		{"wrong case", "<ADMSOCKET><L><ON><S3CRET>$", "<ADMSOCKET><ERR><UNAUTHORIZED><wrong or missing secret: send <ADMSOCKET)<L)<ON)<secret)$>$", false},
		{"right with L ON", "<ADMSOCKET><L><ON><s3cret>$", "<ADMSOCKET><OK>$", true},
		{"right with S", "<ADMSOCKET><S><s3cret>$", "<ADMSOCKET><OK>$", true},
		{"lower-case login", "<admsocket><l><on><s3cret>$", "<admsocket><OK>$", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, &Server{AdminSecret: "s3cret"})
			c := dial(t, srv)
			c.RoundTrip(tt.logon, tt.want)
			srv.Publish(relay.EndCall("jose"))
			if tt.admin {
				c.Expect("<jose><EndCall>$")
			}
			// Kept either way; the probe's answer comes next, so no event leaked.
			c.RoundTrip("<ana><P><OFF>$", "<ana><OK>$")
		})
	}
}

func TestServerTLS(t *testing.T) {
	t.Parallel()
	serverTLS, clientTLS := tlstest.SelfSigned(t)
	srv := startServer(t, &Server{TLS: serverTLS})
	c := dialTLS(t, srv, clientTLS)
	c.RoundTrip("<ADMSOCKET><L><ON>$", "<ADMSOCKET><OK>$")
	c.RoundTrip("<jose><S>$", "<jose><S><1>$")
	srv.Publish(relay.EndCall("maria"))
	c.Expect("<maria><EndCall>$")

	// A client speaking plain TCP to the TLS port gets nothing it can use
	// and the server carries on.
	plain := dial(t, srv)
	plain.Send("<jose><S>$")
	plain.ExpectClosed()
	dialTLS(t, srv, clientTLS).RoundTrip("<jose><S>$", "<jose><S><1>$")
}

func TestServerWindows1252(t *testing.T) {
	t.Parallel()
	backend := &fakeBackend{handle: func(_ context.Context, cmd relay.Command) ([]relay.Frame, error) {
		if cmd.Verb == relay.VerbCurrentCall {
			return []relay.Frame{relay.ActiveCall{Login: cmd.Login, Origin: "7001", Dest: "40050500", Description: "Serviço_Emprestimo"}.Frame()}, nil
		}
		return nil, nil
	}}
	srv := startServer(t, &Server{Backend: backend, Charset: relay.Windows1252})
	c := dial(t, srv)
	c.RoundTrip("<jos\xe9><A><><40050500><Servi\xe7o>$", "<jos\xe9><OK>$")
	c.RoundTrip("<jos\xe9><AC>$", "<jos\xe9><A><><><7001><><40050500><Servi\xe7o_Emprestimo><><>$")
	cmds := backend.commands()
	if len(cmds) != 2 || cmds[0].Login != "josé" || cmds[0].Arg(2) != "Serviço" {
		t.Fatalf("backend got %q, want login josé and service Serviço", cmds)
	}
	// Events are encoded too; a character Windows-1252 lacks becomes '?'.
	c.RoundTrip("<JOS\xc9><L><ON>$", "<JOS\xc9><OK>$") // binds josé, without regard to case
	srv.Publish(relay.ReceptiveCall{Login: "josé", Origin: "40050500", Dest: "Serviço ✓"}.Frame())
	c.Expect("<jos\xe9><R><><><40050500><><Servi\xe7o ?><><>$")
}

func TestServerIdleTimeout(t *testing.T) {
	t.Parallel()
	clock := relaytest.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	srv := startServer(t, &Server{Clock: clock, Limits: Limits{IdleTimeout: time.Minute}})
	c := dial(t, srv)
	if !clock.WaitForWaiters(1, safety) {
		t.Fatal("idle watchdog never armed")
	}
	clock.Advance(30 * time.Second)
	c.RoundTrip("<jose><S>$", "<jose><S><1>$") // traffic at 0:30
	clock.Advance(30 * time.Second)            // 1:00: only 30s idle
	if !clock.WaitForWaiters(1, safety) {
		t.Fatal("idle watchdog not re-armed")
	}
	if st := srv.Stats(); st.Connections != 1 || st.Idle != 0 {
		t.Fatalf("stats at 1:00 = %+v, want the connection kept", st)
	}
	clock.Advance(30 * time.Second) // 1:30: a minute since the last traffic
	if rest := c.ExpectClosed(); len(rest) != 0 {
		t.Fatalf("idle close sent %q", rest)
	}
	wait.For(t, "idle count", func() bool { return srv.Stats().Idle == 1 })
}

func TestServerMaxConnections(t *testing.T) {
	t.Parallel()
	srv := startServer(t, &Server{Limits: Limits{MaxConns: 1}})
	first := dial(t, srv)
	first.RoundTrip("<jose><S>$", "<jose><S><1>$")
	extra := dial(t, srv)
	if got := strings.Join(extra.ExpectClosed(), ""); got != "<><ERR><TOO_MANY_CONNECTIONS><the server accepts at most 1 connections>$" {
		t.Fatalf("extra connection got %q", got)
	}
	first.RoundTrip("<jose><S>$", "<jose><S><1>$")
	first.Conn().Close()
	wait.For(t, "the first connection to go", func() bool { return srv.Stats().Connections == 0 })
	dial(t, srv).RoundTrip("<maria><S>$", "<maria><S><1>$")
	if st := srv.Stats(); st.Rejected != 1 || st.Accepted != 2 {
		t.Fatalf("stats = %+v, want 1 rejected, 2 accepted", st)
	}
}

func TestServerDisconnectsSlowReader(t *testing.T) {
	t.Parallel()
	srv := startServer(t, &Server{Limits: Limits{OutboundQueue: 4}})
	slow := dial(t, srv)
	slow.RoundTrip("<ADMSOCKET><L><ON>$", "<ADMSOCKET><OK>$")
	fast := dial(t, srv)
	fast.RoundTrip("<ADMSOCKET><L><ON>$", "<ADMSOCKET><OK>$")

	// The slow client stops reading. Events keep flowing to the fast one; once
	// the kernel buffers and the slow client's queue are full it is dropped.
	payload := strings.Repeat("x", 16<<10)
	const most = 4000 // 64 MB: far more than any socket buffers
	dropped := false
	for i := 0; i < most && !dropped; i++ {
		f := relay.Recording("jose", payload)
		srv.Publish(f)
		fast.Expect(f.String())
		dropped = srv.Stats().SlowReaders == 1
	}
	if !dropped {
		t.Fatalf("slow reader still connected after %d events", most)
	}
	slow.ExpectClosed()
	fast.RoundTrip("<jose><S>$", "<jose><S><1>$")
	if st := srv.Stats(); st.Connections != 1 || st.Monitoring != 1 {
		t.Fatalf("stats = %+v, want the fast client alone", st)
	}
}

func TestServerStartStop(t *testing.T) {
	t.Parallel()
	srv := startServer(t, &Server{})
	if err := srv.Start(context.Background()); err != nil {
		t.Fatalf("second Start: %v", err)
	}
	c := dial(t, srv)
	c.RoundTrip("<jose><S>$", "<jose><S><1>$")
	srv.Stop()
	srv.Stop()
	c.ExpectClosed()
	if err := srv.Start(context.Background()); err != ErrStopped {
		t.Fatalf("Start after Stop = %v, want ErrStopped", err)
	}
	srv.Publish(relay.EndCall("jose")) // a no-op, not a panic
	var never Server
	never.Stop()
}

func TestServerStopsWithContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	blocked := make(chan struct{})
	srv := &Server{Addr: "127.0.0.1:0", Backend: BackendFunc(func(ctx context.Context, _ *Session, _ relay.Command) ([]relay.Frame, error) {
		close(blocked)
		<-ctx.Done() // a backend waiting on the connection's context is released
		return nil, ctx.Err()
	})}
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	c := dial(t, srv)
	c.Send("<jose><S>$")
	<-blocked
	cancel()
	c.ExpectClosed()
	srv.Stop()
}

func TestServerRejectsBadConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		srv  *Server
	}{
		{"no backend", &Server{Addr: "127.0.0.1:0"}},
		{"negative limit", &Server{Addr: "127.0.0.1:0", Backend: &fakeBackend{}, Limits: Limits{MaxConns: -1}}},
		{"secret with a delimiter", &Server{Addr: "127.0.0.1:0", Backend: &fakeBackend{}, AdminSecret: "a>b"}},
		{"bad address", &Server{Addr: "127.0.0.1:http-nope", Backend: &fakeBackend{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := tt.srv.Start(context.Background()); err == nil {
				tt.srv.Stop()
				t.Fatal("Start succeeded")
			}
		})
	}
}

func TestServerLifecycle(t *testing.T) {
	relaytest.StressStartStop(t, func(t *testing.T) relay.Service {
		srv := &Server{Addr: "127.0.0.1:0", Backend: &fakeBackend{}}
		t.Cleanup(func() {
			srv.Stop()
			if n := srv.Stats().Connections; n != 0 {
				t.Errorf("%d connections after Stop", n)
			}
		})
		return srv
	})
}
