package tactiumserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// Codes of the ERR replies only this server sends; the others are relay's.
const (
	CodeTooManyConnections = "TOO_MANY_CONNECTIONS" // over Limits.MaxConns
	CodeUnauthorized       = "UNAUTHORIZED"         // ADMSOCKET without the right secret
)

// ErrStopped is returned by Start after Stop (relay.StartStop's contract).
var ErrStopped = relay.ErrStopped

// Server is a Tactium-compatible socket server. Set the fields, then Start.
type Server struct {
	// Addr to listen on, e.g. "127.0.0.1:34025" (":0" picks a port; see Addr()).
	Addr string
	// Backend answers the commands.
	Backend Backend
	// Limits on frames, connections, idle time and slow readers.
	Limits Limits
	// TLS, when set, makes every connection TLS.
	TLS *tls.Config
	// AdminSecret, when set, is required to bind to ADMSOCKET:
	// <ADMSOCKET><L><ON><secret>$ or <ADMSOCKET><S><secret>$.
	AdminSecret string
	// Charset of the bytes on the wire (UTF-8 by default).
	Charset relay.Charset
	Logger  *slog.Logger
	Clock   relay.Clock

	life     relay.StartStop
	mu       sync.Mutex
	lim      Limits
	log      *slog.Logger
	clock    relay.Clock
	ln       net.Listener
	started  bool
	stopped  bool
	done     chan struct{} // closed by halt
	sessions map[*Session]struct{}
	refusing map[net.Conn]struct{} // over the limit, being told so
	nextID   uint64
	stats    Stats
	wg       sync.WaitGroup

	// counted without mu, on hot paths
	malformed, throttled, unauthorized, bindRefused, monitorsRefused atomic.Uint64
	monitors                                                         atomic.Int64 // connections bound to ADMSOCKET
	buffered                                                         atomic.Int64 // bytes queued for every reader
}

// Stats counts what the server has seen.
type Stats struct {
	Connections int    // open now
	Monitoring  int    // ... bound to ADMSOCKET
	Accepted    uint64 // connections accepted since Start
	Rejected    uint64 // ... refused over MaxConns
	SlowReaders uint64 // connections closed because their queue filled (or the memory budget ran out)
	Idle        uint64 // connections closed for idleness
	// Frames answered ERR by the server itself, never handed to the
	// backend: unreadable, not in the charset, not a command.
	Malformed    uint64
	Throttled    uint64 // times a connection's reading waited for FrameRate
	Unauthorized uint64 // ADMSOCKET logons refused for the secret
	BindRefused  uint64 // bindings refused over MaxLogins
	// ADMSOCKET logons refused over MaxMonitors
	MonitorsRefused uint64
	Buffered        int64 // bytes queued now for every connection's reader
}

// Start listens and serves until Stop or the end of ctx (relay.StartStop's
// contract: calling it again while running does nothing; after Stop it
// returns ErrStopped).
func (s *Server) Start(ctx context.Context) error { return s.life.Start(ctx, s.listen) }

// Stopped is closed once the server has stopped.
func (s *Server) Stopped() <-chan struct{} { return s.life.Stopped() }

func (s *Server) listen(context.Context) (func(), error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Backend == nil {
		return nil, errors.New("tactium server: no backend")
	}
	lim, err := s.Limits.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("tactium server: %w", err)
	}
	if strings.ContainsAny(s.AdminSecret, "<>$") {
		return nil, errors.New("tactium server: admin secret must not contain '<', '>' or '$'")
	}
	s.lim, s.log, s.clock = lim, s.Logger, s.Clock
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("server", "tactium")
	if s.clock == nil {
		s.clock = relay.SystemClock{}
	}
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return nil, fmt.Errorf("tactium server: %w", err)
	}
	if s.TLS != nil {
		ln = tls.NewListener(ln, s.TLS)
	}
	s.ln, s.started = ln, true
	s.done = make(chan struct{})
	s.sessions = map[*Session]struct{}{}
	s.refusing = map[net.Conn]struct{}{}
	s.wg.Add(2)
	go s.accept()
	go s.summarize()
	s.log.Info("listening", "addr", ln.Addr().String(), "tls", s.TLS != nil, "charset", s.Charset.String(), "admin_secret", s.AdminSecret != "")
	return s.shutdown, nil
}

// ListenAddr is the address the server listens on once started (the
// port chosen for ":0"); nil before Start.
func (s *Server) ListenAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Stop closes the listener and every connection and waits for them. Safe to
// call more than once, and without Start.
func (s *Server) Stop() {
	s.life.Stop()
	s.halt() // a server never started refuses what comes later too
}

func (s *Server) shutdown() {
	s.halt()
	s.wg.Wait()
}

// halt closes everything without waiting.
func (s *Server) halt() {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.stopped = true
	var sessions []*Session
	for x := range s.sessions {
		sessions = append(sessions, x)
	}
	for nc := range s.refusing {
		nc.Close()
	}
	ln := s.ln
	if s.done != nil {
		close(s.done)
	}
	s.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	for _, x := range sessions {
		x.close("server stopping")
	}
}

// Stats returns the counts.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Connections = len(s.sessions)
	st.Malformed, st.Throttled = s.malformed.Load(), s.throttled.Load()
	st.Unauthorized, st.BindRefused, st.MonitorsRefused = s.unauthorized.Load(), s.bindRefused.Load(), s.monitorsRefused.Load()
	st.Buffered = s.buffered.Load()
	for x := range s.sessions {
		if x.Admin() {
			st.Monitoring++
		}
	}
	return st
}

// Publish sends an event to every connection bound to its login and to every
// ADMSOCKET connection. It never blocks: a connection whose queue is full is
// disconnected instead.
func (s *Server) Publish(f relay.Frame) {
	key := strings.ToLower(f.Login())
	s.mu.Lock()
	if !s.started || s.stopped {
		s.mu.Unlock()
		return
	}
	targets := make([]*Session, 0, len(s.sessions))
	for x := range s.sessions {
		targets = append(targets, x)
	}
	s.mu.Unlock()
	var b []byte
	for _, x := range targets {
		if !x.wants(key) {
			continue
		}
		if b == nil {
			b = s.Charset.AppendFrame(nil, f)
		}
		x.send(b)
	}
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || s.isStopped() {
				return
			}
			// Out of descriptors and the like: wait a little rather than spin.
			s.log.Warn("accept failed", "err", err)
			select {
			case <-s.clock.After(50 * time.Millisecond):
			case <-s.done:
				return
			}
			continue
		}
		s.admit(nc)
	}
}

// admit starts serving nc, or refuses it over the connection limit.
func (s *Server) admit(nc net.Conn) {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		nc.Close()
		return
	}
	if len(s.sessions) >= s.lim.MaxConns {
		s.stats.Rejected++
		s.refusing[nc] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		// counted, and logged in the summary: a flood must not flood the log
		go s.refuse(nc)
		return
	}
	s.nextID++
	s.stats.Accepted++
	x := newSession(s, s.nextID, nc)
	s.sessions[x] = struct{}{}
	s.wg.Add(2)
	if s.lim.IdleTimeout > 0 {
		s.wg.Add(1)
		go x.watchIdle()
	}
	s.mu.Unlock()
	s.log.Debug("connection", "session", x.id, "remote", nc.RemoteAddr().String())
	go x.read()
	go x.write()
}

// refuse tells a connection over the limit why, then closes it. It runs on
// its own goroutine: with TLS the write waits for a handshake.
func (s *Server) refuse(nc net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.refusing, nc)
		s.mu.Unlock()
		nc.Close()
	}()
	_ = nc.SetWriteDeadline(time.Now().Add(s.lim.WriteTimeout))
	msg := fmt.Sprintf("the server accepts at most %d connections", s.lim.MaxConns)
	_, _ = nc.Write(s.Charset.AppendFrame(nil, relay.ErrReply("", CodeTooManyConnections, msg)))
}

func (s *Server) forget(x *Session, counter *uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, x)
	if counter != nil {
		*counter++
	}
}

func (s *Server) isStopped() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopped
}

// summarize logs, every Limits.SummaryEvery, what was refused or dropped
// since the last line: one line per interval whatever the number.
func (s *Server) summarize() {
	defer s.wg.Done()
	last := s.Stats()
	for {
		select {
		case <-s.done:
			return
		case <-s.clock.After(s.lim.SummaryEvery):
		}
		now := s.Stats()
		d := func(a, b uint64) uint64 { return a - b }
		refused, slow, idle := d(now.Rejected, last.Rejected), d(now.SlowReaders, last.SlowReaders), d(now.Idle, last.Idle)
		bad, throttled := d(now.Malformed, last.Malformed), d(now.Throttled, last.Throttled)
		unauth, binds := d(now.Unauthorized, last.Unauthorized), d(now.BindRefused, last.BindRefused)
		monitors := d(now.MonitorsRefused, last.MonitorsRefused)
		last = now
		if refused+slow+unauth+binds+monitors > 0 {
			s.log.Warn("connections refused or dropped", "every", s.lim.SummaryEvery,
				"refused_over_max_conns", refused, "max_conns", s.lim.MaxConns, "slow_readers_dropped", slow,
				"monitoring_logons_refused", unauth, "monitors_over_max", monitors, "bindings_refused", binds, "idle_closed", idle,
				"malformed_frames", bad, "throttled", throttled, "connections", now.Connections, "buffered_bytes", now.Buffered)
		} else if idle+bad+throttled > 0 {
			s.log.Info("traffic answered or held back", "every", s.lim.SummaryEvery,
				"idle_closed", idle, "malformed_frames", bad, "throttled", throttled, "connections", now.Connections)
		}
	}
}
