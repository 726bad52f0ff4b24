package tactiumserver

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// A client sending faster than FrameRate is read more slowly: its frames
// wait (in its TCP stream) until the bucket refills on the server's clock.
func TestFrameRateHoldsAFastClientBack(t *testing.T) {
	t.Parallel()
	clock := relaytest.NewClock(epoch)
	srv := startServer(t, &Server{Clock: clock, Limits: Limits{FrameRate: 2}})
	c := dial(t, srv)
	c.Send(strings.Repeat("<ana><S>$", 3))
	c.Expect(strings.Repeat("<ana><S><1>$", 2))
	// the summary's timer and the reader's
	if !clock.WaitForWaiters(2, safety) {
		t.Fatal("the reader never waited for the frame rate")
	}
	if got := srv.Stats().Throttled; got != 1 {
		t.Fatalf("Throttled = %d, want 1", got)
	}
	clock.Advance(time.Second)
	c.Expect("<ana><S><1>$")
}

// A connection that never reads is dropped once OutboundBytes are queued
// for it; the bytes it held are given back to the global count.
func TestReaderThatNeverReadsIsDroppedOverItsBytes(t *testing.T) {
	t.Parallel()
	srv := startServer(t, &Server{Limits: Limits{OutboundBytes: 64 << 10, OutboundQueue: 1 << 20}})
	c := dial(t, srv)
	c.Conn().(*net.TCPConn).SetReadBuffer(4096)
	c.RoundTrip("<ADMSOCKET><L><ON>$", "<ADMSOCKET><OK>$")
	flood(t, srv, func() bool { return srv.Stats().SlowReaders == 1 })
	wait.For(t, "the dropped reader's bytes given back", func() bool { return srv.Stats().Buffered == 0 })
}

// Over MaxBufferedBytes for every connection together, a connection holding
// more than a few replies is dropped even below its own limits.
func TestGlobalBudgetDropsReadersThatHoldMemory(t *testing.T) {
	t.Parallel()
	srv := startServer(t, &Server{Limits: Limits{OutboundBytes: 1 << 30, OutboundQueue: 1 << 20, MaxBufferedBytes: 24 << 10}})
	for range 2 { // monitors that never read
		c := dial(t, srv)
		c.Conn().(*net.TCPConn).SetReadBuffer(4096)
		c.RoundTrip("<ADMSOCKET><L><ON>$", "<ADMSOCKET><OK>$")
	}
	flood(t, srv, func() bool { return srv.Stats().SlowReaders >= 1 })
	if b := srv.Stats().Buffered; b > 24<<10+budgetFloor {
		t.Fatalf("%d bytes queued, over the budget", b)
	}
}

// flood publishes events until done holds (bounded in count).
func flood(t *testing.T, srv *Server, done func() bool) {
	t.Helper()
	ev := relay.Recording("ana", strings.Repeat("x", 200))
	for i := 0; !done(); i++ {
		if i > 2_000_000 {
			t.Fatalf("not dropped after %d events: %+v", i, srv.Stats())
		}
		srv.Publish(ev)
	}
}

// A backend waiting for a command's answer learns that the client hung up.
func TestHangupWhileACommandWaits(t *testing.T) {
	t.Parallel()
	srv := startServer(t, &Server{Backend: BackendFunc(func(ctx context.Context, x *Session, cmd relay.Command) ([]relay.Frame, error) {
		select {
		case <-x.Hangup():
			return []relay.Frame{relay.ErrReply(cmd.Login, "GONE", "hung up")}, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	})})
	c := dial(t, srv)
	c.Send("<ana><A><85><40050777><>$")
	c.Conn().(interface{ CloseWrite() error }).CloseWrite()
	got := c.ExpectClosed()
	if len(got) != 1 || got[0] != "<ana><ERR><GONE><hung up>$" {
		t.Fatalf("read %q, want the answer given on hang-up", got)
	}
}

// Refused connections are counted and logged in one line per interval,
// never one line each.
func TestRefusedConnectionsLoggedInSummary(t *testing.T) {
	t.Parallel()
	clock := relaytest.NewClock(epoch)
	var logs relaytest.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	srv := startServer(t, &Server{Clock: clock, Logger: log, Limits: Limits{MaxConns: 1, SummaryEvery: time.Minute}})
	keep := dial(t, srv)
	keep.RoundTrip("<ana><S>$", "<ana><S><1>$")
	for range 5 {
		dial(t, srv).ExpectClosed()
	}
	if got := srv.Stats().Rejected; got != 5 {
		t.Fatalf("Rejected = %d, want 5", got)
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 0 {
		t.Fatalf("%d WARN lines before the summary:\n%s", n, logs.String())
	}
	clock.WaitForWaiters(1, safety)
	clock.Advance(time.Minute)
	wait.For(t, "the summary line", func() bool { return strings.Contains(logs.String(), "refused_over_max_conns=5") })
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 {
		t.Fatalf("%d WARN lines, want the one summary:\n%s", n, logs.String())
	}
}

// Garbage is answered at ErrorRate, however fast FrameRate would read it.
func TestErrorRateHoldsAGarbageSender(t *testing.T) {
	t.Parallel()
	clock := relaytest.NewClock(epoch)
	srv := startServer(t, &Server{Clock: clock, Limits: Limits{ErrorRate: 2}})
	c := dial(t, srv)
	c.Send(strings.Repeat("<ana><ZZ>$", 3))
	c.Expect(strings.Repeat(`<ana><ERR><UNKNOWN_VERB><unknown verb "ZZ">$`, 2))
	if !clock.WaitForWaiters(2, safety) {
		t.Fatal("the handler never waited for the error rate")
	}
	clock.Advance(time.Second)
	c.Expect(`<ana><ERR><UNKNOWN_VERB><unknown verb "ZZ">$`)
	if got := srv.Stats().Malformed; got != 3 {
		t.Fatalf("Malformed = %d, want 3", got)
	}
}

// Monitors are bounded: every event goes to each of them.
func TestMaxMonitors(t *testing.T) {
	t.Parallel()
	srv := startServer(t, &Server{Limits: Limits{MaxMonitors: 1}})
	first, second := dial(t, srv), dial(t, srv)
	first.RoundTrip("<ADMSOCKET><L><ON>$", "<ADMSOCKET><OK>$")
	first.RoundTrip("<ADMSOCKET><L><ON>$", "<ADMSOCKET><OK>$") // again: still one
	second.RoundTrip("<ADMSOCKET><L><ON>$", "<ADMSOCKET><ERR><REJECTED><the server takes at most 1 monitoring connections>$")
	second.RoundTrip("<ana><S>$", "<ana><S><1>$") // an ordinary connection still
	first.Close()
	wait.For(t, "the first monitor gone", func() bool { return srv.Stats().Monitoring == 0 })
	second.RoundTrip("<ADMSOCKET><L><ON>$", "<ADMSOCKET><OK>$")
	if got := srv.Stats().MonitorsRefused; got != 1 {
		t.Fatalf("MonitorsRefused = %d, want 1", got)
	}
}
