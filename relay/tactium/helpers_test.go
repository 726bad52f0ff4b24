package tactium_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ctirelay/ctirelay/bridges/tactiumserver"
	"github.com/ctirelay/ctirelay/bridges/tactiumserver/simbackend"
	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
	"github.com/ctirelay/ctirelay/relay/sim"
	"github.com/ctirelay/ctirelay/relay/tactium"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// safety bounds how long a test waits for another goroutine; nothing asserts speed.
const safety = 10 * time.Second

var epoch = time.Date(2026, 1, 16, 16, 38, 37, 0, time.UTC)

// sink collects events in the order the driver delivers them.
type sink struct{ ch chan relay.Frame }

func newSink() *sink { return &sink{ch: make(chan relay.Frame, 64)} }

func (s *sink) Event(ctx context.Context, f relay.Frame) {
	select {
	case s.ch <- f:
	case <-ctx.Done():
	}
}

// expect takes the next events and compares them exactly.
func (s *sink) expect(t testing.TB, want ...string) {
	t.Helper()
	for _, w := range want {
		select {
		case f := <-s.ch:
			if f.String() != w {
				t.Fatalf("event %q, want %q", f.String(), w)
			}
		case <-time.After(safety):
			t.Fatalf("no event, want %q", w)
		}
	}
}

// command parses a frame into a command, failing the test if it is not one.
func command(t testing.TB, frame string) relay.Command {
	t.Helper()
	f, err := relay.Parse(frame)
	if err != nil {
		t.Fatal(err)
	}
	cmd, err := relay.ParseCommand(f)
	if err != nil {
		t.Fatal(err)
	}
	return cmd
}

// execute runs one command and renders the answer as "<frames>" or "error: ...".
func execute(t testing.TB, d *tactium.Driver, frame string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), safety)
	defer cancel()
	frames, err := d.Execute(ctx, command(t, frame))
	if err != nil {
		return "error: " + err.Error()
	}
	var b strings.Builder
	for _, f := range frames {
		b.WriteString(f.String())
	}
	return b.String()
}

func newDriver(t testing.TB, cfg tactium.Config) *tactium.Driver {
	t.Helper()
	if cfg.Clock == nil {
		cfg.Clock = relaytest.NewClock(epoch)
	}
	d, err := tactium.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// simServer is the simulated switch served by the socket server core.
type simServer struct {
	sw    *sim.Switch
	clock *relaytest.Clock
	srv   *tactiumserver.Server
	stop  func()
}

func startSimServer(t testing.TB, srv *tactiumserver.Server, cfg sim.Config) *simServer {
	t.Helper()
	clock := relaytest.NewClock(epoch)
	cfg.Clock = clock
	sw, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := sw.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if srv.Addr == "" {
		srv.Addr = "127.0.0.1:0"
	}
	var backend tactiumserver.Backend = simbackend.Backend{Switch: sw}
	if h, ok := srv.Backend.(*holdBackend); ok {
		h.next, backend = backend, h // set before the server starts
	}
	srv.Backend = backend
	if err := srv.Start(context.Background()); err != nil {
		sw.Stop()
		t.Fatal(err)
	}
	s := &simServer{sw: sw, clock: clock, srv: srv, stop: simbackend.MirrorEvents(sw, srv, 64)}
	t.Cleanup(s.close)
	return s
}

func (s *simServer) close() {
	s.srv.Stop()
	s.stop()
	s.sw.Stop()
}

func (s *simServer) addr() string { return s.srv.ListenAddr().String() }

// fakeTactium is a strict Tactium IP Integration server: it reads frames
// byte for byte, answers each with exactly the bytes answer gives, and
// records what arrived on which connection. <ADMSOCKET><L><ON>$ makes a
// connection a monitor, which the test writes events to; the document prints
// no answer to it, so none is sent.
type fakeTactium struct {
	t      testing.TB
	ln     net.Listener
	answer func(frame string) string // the reply bytes; "" sends nothing; drop closes

	mu       sync.Mutex
	seen     []string // "c<N> <frame>" in arrival order
	conns    []net.Conn
	monitors chan net.Conn
	wg       sync.WaitGroup
}

// drop, as an answer, closes the connection without replying.
const drop = "\x00drop"

func startFake(t testing.TB, answer func(string) string) *fakeTactium {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeTactium{t: t, ln: ln, answer: answer, monitors: make(chan net.Conn, 8)}
	f.wg.Add(1)
	go f.accept()
	t.Cleanup(f.close)
	return f
}

func (f *fakeTactium) addr() string { return f.ln.Addr().String() }

func (f *fakeTactium) accept() {
	defer f.wg.Done()
	for n := 1; ; n++ {
		nc, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.mu.Lock()
		f.conns = append(f.conns, nc)
		f.mu.Unlock()
		f.wg.Add(1)
		go f.serve(n, nc)
	}
}

func (f *fakeTactium) serve(n int, nc net.Conn) {
	defer f.wg.Done()
	defer nc.Close()
	r := bufio.NewReader(nc)
	for {
		frame, err := r.ReadString('$')
		if err != nil {
			return
		}
		f.mu.Lock()
		f.seen = append(f.seen, fmt.Sprintf("c%d %s", n, frame))
		f.mu.Unlock()
		if frame == "<ADMSOCKET><L><ON>$" {
			f.monitors <- nc
			continue
		}
		switch reply := f.answer(frame); reply {
		case drop:
			return
		case "":
		default:
			if _, err := nc.Write([]byte(reply)); err != nil {
				return
			}
		}
	}
}

// received is what arrived so far.
func (f *fakeTactium) received() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.seen)
}

// waitSeen waits until the frame has arrived on some connection.
func (f *fakeTactium) waitSeen(t testing.TB, frame string) {
	t.Helper()
	wait.For(t, frame+" at the server", func() bool {
		for _, s := range f.received() {
			if strings.HasSuffix(s, " "+frame) {
				return true
			}
		}
		return false
	})
}

// monitor waits for the driver's ADMSOCKET connection.
func (f *fakeTactium) monitor(t testing.TB) net.Conn {
	t.Helper()
	select {
	case nc := <-f.monitors:
		return nc
	case <-time.After(safety):
		t.Fatal("no monitoring connection")
		return nil
	}
}

func (f *fakeTactium) close() {
	f.ln.Close()
	f.mu.Lock()
	for _, nc := range f.conns {
		nc.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}

// documentAnswers are the document's replies (section 4), byte for byte.
// The document prints no reply for A (4.9); this server answers OK, as
// ctirelay's own server does.
var documentAnswers = map[string]string{
	"<jose><S>$":        "<jose><S><1>$",
	"<jose><L><ON>$":    "<jose><OK>$",
	"<jose><L><OFF>$":   "<jose><OK>$",
	"<jose><P><ON><1>$": "<jose><OK>$",
	"<jose><P><OFF>$":   "<jose><OK>$",
	"<jose><POS><OFF>$": "<jose><OK>$",
	"<jose><TR><17/08/2010 15:00><40050500><jose>$": "<jose><OK>$",
	"<jose><C><S><EletronicResponse>$":              "<jose><OK>$",
	"<jose><A><85><40050500><>$":                    "<jose><OK>$",
	"<jose><D>$":                                    "<Jose><EndCall>$",
	"<jose><AC>$":                                   dialerEvent("jose"),
}

// dialerEvent is section 5.1's example, stray '>' included.
func dialerEvent(login string) string {
	return "<" + login + "><A><15068><0><9988><0><7017><>><dialer.CampaignName=Discador;dialer.ExternalID=15068;dialer.ItemID=717a4730-fb1e-4aec-9e8e04a92703fd60;dialer.Description=;dialer.AttachInfo=CD_LTA_ATI;dialer.ExternalData=;>$"
}

// dialerEventRead is that example as the relay reads it.
func dialerEventRead(login string) string {
	return "<" + login + "><A><15068><0><9988><0><7017><><dialer.CampaignName=Discador;dialer.ExternalID=15068;dialer.ItemID=717a4730-fb1e-4aec-9e8e04a92703fd60;dialer.Description=;dialer.AttachInfo=CD_LTA_ATI;dialer.ExternalData=;>$"
}

func strictAnswer(t testing.TB) func(string) string {
	return func(frame string) string {
		if a, ok := documentAnswers[frame]; ok {
			return a
		}
		t.Errorf("strict server: unexpected frame %q", frame)
		return drop
	}
}

// checkInDoubt checks the classification of a command sent and not answered:
// relay.ErrInDoubt, and nothing that would make the engine retry a dial as
// merely transient.
func checkInDoubt(t testing.TB, err error, verb relay.Verb) {
	t.Helper()
	if !errors.Is(err, relay.ErrInDoubt) {
		t.Fatalf("%s: err = %v, want ErrInDoubt", verb, err)
	}
	if relay.IsTransient(err) {
		t.Fatalf("%s: %v is marked transient; in doubt is decided by the engine's policy", verb, err)
	}
}
