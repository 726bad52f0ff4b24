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
	out    chan []byte // encoded frames for the writer; nil asks it to finish

	mu        sync.Mutex
	admin     bool
	logins    map[string]bool // lower-case logins bound with S or L ON
	active    time.Time       // last traffic either way
	closed    bool
	finishing bool // the client closed its side: flush, then close
	done      chan struct{}
	wrote     chan struct{} // a write finished: room in the queue for Deliver
}

func newSession(s *Server, id uint64, nc net.Conn) *Session {
	ctx, cancel := context.WithCancel(context.Background())
	return &Session{
		srv: s, id: id, nc: nc, ctx: ctx, cancel: cancel,
		out:    make(chan []byte, s.lim.OutboundQueue),
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
		x.srv.log.Warn("tactium server: connection bound to too many agents; not binding", "session", x.id, "agent", login, "max", x.srv.lim.MaxLogins)
		return
	}
	x.logins[key] = true
}

func (x *Session) setAdmin(on bool) {
	x.mu.Lock()
	x.admin = on
	x.mu.Unlock()
}

// reply queues frames answering the client.
func (x *Session) reply(frames ...relay.Frame) {
	for _, f := range frames {
		x.send(x.srv.Charset.AppendFrame(nil, f))
	}
}

// send queues encoded bytes without ever blocking: a client that has let its
// queue fill is too slow to follow and is disconnected.
func (x *Session) send(b []byte) {
	x.mu.Lock()
	if x.closed || x.finishing {
		x.mu.Unlock()
		return
	}
	select {
	case x.out <- b:
		x.mu.Unlock()
		return
	default:
	}
	x.mu.Unlock()
	x.srv.log.Warn("tactium server: client not reading, disconnecting", "session", x.id, "remote", x.nc.RemoteAddr().String(), "queued", cap(x.out))
	x.closeCounted("outbound queue full", &x.srv.stats.SlowReaders)
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
	x.mu.Unlock()
	x.cancel()
	x.nc.Close()
	x.srv.forget(x, counter)
	x.srv.log.Debug("tactium server: connection closed", "session", x.id, "reason", reason)
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
			x.srv.log.Info("tactium server: closing idle connection", "session", x.id, "remote", x.nc.RemoteAddr().String(), "idle", idle)
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
