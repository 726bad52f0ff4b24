package tactiumserver

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ctirelay/ctirelay/relay"
)

// extBackend is a fakeBackend with an extension: ECHO answers with its
// arguments, SELF answers on the session itself, BOOM fails, the rest are
// left to the server.
type extBackend struct {
	fakeBackend
}

func (b *extBackend) Extension(ctx context.Context, x *Session, f relay.Frame) ([]relay.Frame, bool, error) {
	switch strings.ToUpper(f.Verb()) {
	case "ECHO":
		return []relay.Frame{append(relay.Frame{f.Login(), "ECHO"}, f.Args()...)}, true, nil
	case "SELF":
		if err := x.Deliver(ctx, relay.EndCall(f.Login()), relay.OK(f.Login())); err != nil {
			return nil, true, err
		}
		return nil, true, ErrAnswered
	case "BOOM":
		return nil, true, relay.Errorf(relay.CodeRejected, "boom")
	case "NOTHING":
		return nil, true, nil
	}
	return nil, false, nil
}

func TestServerExtensions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, send, want string
	}{
		{"extension verb", "<jose><ECHO><a><b>$", "<jose><ECHO><a><b>$"},
		{"verbs without regard to case", "<jose><echo>$", "<jose><ECHO>$"},
		{"answered by the backend itself", "<jose><SELF>$", "<jose><EndCall>$<jose><OK>$"},
		{"extension error", "<jose><BOOM>$", "<jose><ERR><REJECTED><boom>$"},
		{"no frames mean OK", "<jose><NOTHING>$", "<jose><OK>$"},
		{"not an extension", "<jose><XYZ>$", `<jose><ERR><UNKNOWN_VERB><unknown verb "XYZ">$`},
		{"monitoring login", "<ADMSOCKET><ECHO><1>$", "<ADMSOCKET><ECHO><1>$"},
		{"monitoring login, not an extension", "<ADMSOCKET><XYZ>$", "<ADMSOCKET><ERR><REJECTED><ADMSOCKET is the monitoring login: send <ADMSOCKET)<L)<ON)$>$"},
		{"commands still reach Command", "<jose><S>$", "<jose><S><1>$"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, &Server{Backend: &extBackend{}})
			c := dial(t, srv)
			c.RoundTrip(tt.send, tt.want)
			c.RoundTrip("<ana><S>$", "<ana><S><1>$")
		})
	}
}

func TestSessionSendBindAndSessions(t *testing.T) {
	t.Parallel()
	srv := startServer(t, &Server{Limits: Limits{MaxLogins: 1}})
	c := dial(t, srv)
	c.RoundTrip("<jose><S>$", "<jose><S><1>$")
	sessions := srv.Sessions()
	if len(sessions) != 1 {
		t.Fatalf("%d sessions, want 1", len(sessions))
	}
	x := sessions[0]
	if !x.BoundTo("JOSE") || x.BoundTo("ana") || x.Admin() {
		t.Fatalf("bound to %v, admin %v", x.Logins(), x.Admin())
	}
	if x.Bind("ana") {
		t.Fatal("Bind past MaxLogins reported success")
	}
	if !x.Bind("Jose") {
		t.Fatal("Bind of a bound agent reported failure")
	}
	x.Send(relay.EndCall("jose"), relay.Recording("jose", `c:\r.wav`))
	c.Expect(`<jose><EndCall>$<jose><G><c:\r.wav>$`)
	x.Close()
	c.ExpectClosed()
	if err := x.Deliver(context.Background(), relay.EndCall("jose")); !errors.Is(err, ErrSessionClosed) {
		t.Fatalf("Deliver after Close = %v", err)
	}
}

func TestSessionDeliverWaitsForTheReader(t *testing.T) {
	t.Parallel()
	srv := startServer(t, &Server{Limits: Limits{OutboundQueue: 2}})
	c := dial(t, srv)
	c.RoundTrip("<jose><S>$", "<jose><S><1>$")
	x := srv.Sessions()[0]
	// Far more than the queue holds: Deliver keeps pace with the reader
	// instead of dropping the client as Send would.
	const n = 5000
	done := make(chan error, 1)
	go func() {
		frames := make([]relay.Frame, n)
		for i := range frames {
			frames[i] = relay.Recording("jose", strings.Repeat("x", 100))
		}
		done <- x.Deliver(context.Background(), frames...)
	}()
	want := relay.Recording("jose", strings.Repeat("x", 100)).String()
	for range n {
		c.Expect(want)
	}
	if err := <-done; err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if st := srv.Stats(); st.SlowReaders != 0 || st.Connections != 1 {
		t.Fatalf("stats = %+v", st)
	}
	// A cancelled Deliver returns without queueing.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := x.Deliver(ctx, relay.OK("jose")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Deliver with a cancelled context = %v", err)
	}
	c.RoundTrip("<ana><S>$", "<ana><S><1>$")
}

func TestServerShutdownFlushesQueuedFrames(t *testing.T) {
	t.Parallel()
	srv := startServer(t, &Server{})
	c := dial(t, srv)
	c.RoundTrip("<ADMSOCKET><L><ON>$", "<ADMSOCKET><OK>$")
	for range 100 {
		srv.Publish(relay.EndCall("jose"))
	}
	srv.Shutdown(context.Background())
	got := strings.Join(c.ExpectClosed(), "")
	if got != strings.Repeat("<jose><EndCall>$", 100) {
		t.Fatalf("after Shutdown the client read %d bytes: %.80q…", len(got), got)
	}
	srv.Shutdown(context.Background()) // twice is fine
	if err := srv.Start(context.Background()); err != ErrStopped {
		t.Fatalf("Start after Shutdown = %v", err)
	}
}
