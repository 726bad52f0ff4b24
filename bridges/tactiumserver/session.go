package tactiumserver

import (
	"context"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// Session is one client connection. The backend gets it with each command,
// to know who is asking.
type Session struct {
	srv    *Server
	id     uint64
	nc     net.Conn
	ctx    context.Context
	cancel context.CancelFunc
	out    chan []byte   // encoded frames for the writer; nil asks it to finish
	hungUp chan struct{} // closed once the client stopped sending
	// the reader's buckets (FrameRate, ByteRate) and the handler's
	// (ErrorRate, with errored: the frame just handled was answered ERR)
	frames, bytes, errs bucket
	errored             bool

	mu        sync.Mutex
	admin     bool
	logins    map[string]bool // lower-case logins bound with S or L ON
	active    time.Time       // last traffic either way
	closed    bool
	finishing bool // the client closed its side: flush, then close
	hung      bool
	queued    int // bytes in out, not yet written
	done      chan struct{}
	wrote     chan struct{} // a write finished: room in the queue for Deliver
}

func newSession(s *Server, id uint64, nc net.Conn) *Session {
	ctx, cancel := context.WithCancel(context.Background())
	return &Session{
		srv: s, id: id, nc: nc, ctx: ctx, cancel: cancel,
		out:    make(chan []byte, s.lim.OutboundQueue),
		hungUp: make(chan struct{}),
		frames: bucket{rate: float64(s.lim.FrameRate), burst: float64(s.lim.FrameBurst)},
		bytes:  bucket{rate: float64(s.lim.ByteRate), burst: float64(max(s.lim.ByteRate, 2*s.lim.MaxFrameBytes))},
		errs:   bucket{rate: float64(s.lim.ErrorRate), burst: float64(s.lim.ErrorRate)},
		logins: map[string]bool{},
		active: s.clock.Now(),
		done:   make(chan struct{}),
		wrote:  make(chan struct{}, 1),
	}
}

// ID numbers the connections of one server from 1.
func (x *Session) ID() uint64 { return x.id }

// RemoteAddr is the client's address.
func (x *Session) RemoteAddr() net.Addr { return x.nc.RemoteAddr() }

// Admin reports whether the connection is bound to ADMSOCKET (every agent).
func (x *Session) Admin() bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.admin
}

// Logins are the agents the connection is bound to, lower-cased, sorted.
func (x *Session) Logins() []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	out := make([]string, 0, len(x.logins))
	for l := range x.logins {
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

// wants reports whether an event for the lower-cased login goes to x.
func (x *Session) wants(key string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return !x.closed && (x.admin || x.logins[key])
}

// bind subscribes x to one agent's events, within Limits.MaxLogins.
func (x *Session) bind(login string) {
	key := strings.ToLower(login)
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.logins[key] {
		return
	}
	if len(x.logins) >= x.srv.lim.MaxLogins {
		x.srv.bindRefused.Add(1) // logged in the summary
		x.srv.log.Debug("connection bound to too many agents; not binding", "session", x.id, "agent", login, "max", x.srv.lim.MaxLogins)
		return
	}
	x.logins[key] = true
}

// setAdmin binds or unbinds the connection to every agent, within
// Limits.MaxMonitors; it reports false when the limit refused it.
func (x *Session) setAdmin(on bool) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.admin == on || x.closed {
		return x.admin == on
	}
	if on && x.srv.monitors.Add(1) > int64(x.srv.lim.MaxMonitors) {
		x.srv.monitors.Add(-1)
		return false
	}
	if !on {
		x.srv.monitors.Add(-1)
	}
	x.admin = on
	return true
}

// Hangup is closed once the client has stopped sending (it closed the
// connection, or only its sending side) or the connection closed: a
// backend waiting for a command's answer takes its requester as gone.
func (x *Session) Hangup() <-chan struct{} { return x.hungUp }

func (x *Session) hangUp() {
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.hung {
		x.hung = true
		close(x.hungUp)
	}
}

// reply queues frames answering the client.
func (x *Session) reply(frames ...relay.Frame) {
	for _, f := range frames {
		x.send(x.srv.Charset.AppendFrame(nil, f))
	}
}

// send queues encoded bytes without ever blocking: a client that has let its
// queue fill (Limits.OutboundQueue frames or OutboundBytes), or holds more
// than a little while every connection's queues together are over
// Limits.MaxBufferedBytes, is too slow to follow and is disconnected.
func (x *Session) send(b []byte) {
	x.mu.Lock()
	if x.closed || x.finishing {
		x.mu.Unlock()
		return
	}
	if x.room(len(b)) {
		select {
		case x.out <- b:
			x.queued += len(b)
			x.srv.buffered.Add(int64(len(b)))
			x.mu.Unlock()
			return
		default:
		}
	}
	x.mu.Unlock()
	// counted, and logged in the summary
	x.closeCounted("outbound queue full", &x.srv.stats.SlowReaders)
}

// room reports whether n more bytes may be queued. Called with mu held.
func (x *Session) room(n int) bool {
	lim := x.srv.lim
	if x.queued > 0 && x.queued+n > lim.OutboundBytes {
		return false
	}
	// Over the global budget only connections holding more than a floor are
	// dropped: one that reads keeps its queue near empty and is answered.
	return x.queued+n <= budgetFloor || x.srv.buffered.Load()+int64(n) <= lim.MaxBufferedBytes
}

// budgetFloor is what a connection may always have queued, whatever the
// global budget: a few replies.
const budgetFloor = 16 << 10

// written accounts for bytes the writer took out of the queue.
func (x *Session) written(n int) {
	x.mu.Lock()
	if x.closed { // closing released the whole queue's bytes
		x.mu.Unlock()
		return
	}
	x.queued -= n
	x.mu.Unlock()
	x.srv.buffered.Add(-int64(n))
}

// finish flushes what is queued, then closes: the client has stopped sending.
func (x *Session) finish() {
	x.mu.Lock()
	if x.closed || x.finishing {
		x.mu.Unlock()
		return
	}
	x.finishing = true
	select {
	case x.out <- nil:
		x.mu.Unlock()
	default:
		x.mu.Unlock()
		x.close("client closed")
	}
}

func (x *Session) touch() {
	now := x.srv.clock.Now()
	x.mu.Lock()
	x.active = now
	x.mu.Unlock()
}

func (x *Session) close(reason string) { x.closeCounted(reason, nil) }

// closeCounted closes the connection once, counting it under counter.
func (x *Session) closeCounted(reason string, counter *uint64) {
	x.mu.Lock()
	if x.closed {
		x.mu.Unlock()
		return
	}
	x.closed = true
	close(x.done)
	if x.admin {
		x.srv.monitors.Add(-1)
	}
	if !x.hung {
		x.hung = true
		close(x.hungUp)
	}
	left := x.queued
	x.queued = 0
	x.mu.Unlock()
	x.srv.buffered.Add(-int64(left))
	x.cancel()
	x.nc.Close()
	x.srv.forget(x, counter)
	x.srv.log.Debug("connection closed", "session", x.id, "reason", reason)
}

// write sends queued frames, batching what is ready into one write.
func (x *Session) write() {
	defer x.srv.wg.Done()
	const batch = 64 << 10
	var buf []byte
	for {
		var b []byte
		select {
		case b = <-x.out:
		case <-x.done:
			return
		}
		last := b == nil
		buf = append(buf[:0], b...)
	drain:
		for !last && len(buf) < batch {
			select {
			case b = <-x.out:
				if b == nil {
					last = true
					break drain
				}
				buf = append(buf, b...)
			default:
				break drain
			}
		}
		x.written(len(buf))
		if len(buf) > 0 {
			_ = x.nc.SetWriteDeadline(time.Now().Add(x.srv.lim.WriteTimeout))
			if _, err := x.nc.Write(buf); err != nil {
				x.close("write: " + err.Error())
				return
			}
			x.touch()
			select {
			case x.wrote <- struct{}{}:
			default:
			}
			if cap(buf) > 8<<10 && len(x.out) == 0 {
				buf = nil // an idle connection keeps no large buffer
			}
		}
		if last {
			x.close("client closed")
			return
		}
	}
}

// watchIdle closes the connection after Limits.IdleTimeout without traffic.
func (x *Session) watchIdle() {
	defer x.srv.wg.Done()
	idle := x.srv.lim.IdleTimeout
	for {
		x.mu.Lock()
		last := x.active
		x.mu.Unlock()
		wait := idle - x.srv.clock.Now().Sub(last)
		if wait <= 0 {
			x.srv.log.Debug("closing idle connection", "session", x.id, "remote", x.nc.RemoteAddr().String(), "idle", idle)
			x.closeCounted("idle", &x.srv.stats.Idle)
			return
		}
		select {
		case <-x.srv.clock.After(wait):
		case <-x.done:
			return
		}
	}
}
