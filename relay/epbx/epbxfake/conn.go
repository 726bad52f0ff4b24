package epbxfake

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Conn is one SignalR connection of a user.
type Conn struct {
	srv     *Server
	ID      string
	User    string
	started atomic.Bool
	gone    atomic.Bool

	mu    sync.Mutex // orders messages and writes
	seq   uint64
	msgs  []message // sent messages kept for reconnect
	sock  *socket
	timer *time.Timer // forgets the connection DisconnectTimeout after its socket closed
	vals  map[string]any
}

type message struct {
	seq uint64
	raw json.RawMessage
}

// keep bounds the messages kept for a reconnect.
const keep = 4096

type socket struct {
	ws     *websocket.Conn
	ctx    context.Context
	cancel context.CancelFunc
}

func (s *socket) write(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	s.writeRaw(b)
}

// writeRaw writes a frame. No context for the write: the library would
// register a context.AfterFunc for each; the socket's context closes the
// socket when it ends (connect), which ends a write in progress.
func (s *socket) writeRaw(b []byte) {
	if s.ws.Write(context.Background(), websocket.MessageText, b) != nil {
		s.cancel()
	}
}

// Set and Get keep per-connection values for a Hub (the logged-on
// extension, say).
func (c *Conn) Set(k string, v any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.vals == nil {
		c.vals = map[string]any{}
	}
	c.vals[k] = v
}

// Get returns a value Set.
func (c *Conn) Get(k string) any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.vals[k]
}

// Send calls method on the client ({"C","M":[{"H","M","A"}]}). The message
// is kept, so a client reconnecting with an older message id gets it again.
func (c *Conn) Send(method string, args ...any) {
	if args == nil {
		args = []any{}
	}
	raw, err := json.Marshal(map[string]any{"H": c.srv.cfg.HubName, "M": method, "A": args})
	if err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	c.msgs = append(c.msgs, message{seq: c.seq, raw: raw})
	if len(c.msgs) > keep {
		c.msgs = c.msgs[len(c.msgs)-keep:]
	}
	if c.sock != nil {
		c.sock.write(map[string]any{"C": c.cursorLocked(), "M": []json.RawMessage{raw}})
	}
}

func (c *Conn) cursorLocked() string { return "d-" + strconv.FormatUint(c.seq, 10) }

func (c *Conn) cursor() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cursorLocked()
}

func (c *Conn) writeFrame(v any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sock != nil {
		c.sock.write(v)
	}
}

// attach makes sock the connection's socket: connect sends the
// initialising frame, reconnect the messages after messageId.
func (c *Conn) attach(sock *socket, reconnect bool, messageID string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gone.Load() {
		return false
	}
	if c.sock != nil {
		c.sock.cancel()
		_ = c.sock.ws.CloseNow()
	}
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	c.sock = sock
	if !reconnect {
		sock.write(map[string]any{"C": c.cursorLocked(), "S": 1, "M": []any{}})
		return true
	}
	after, _ := strconv.ParseUint(trimCursor(messageID), 10, 64)
	var missed []json.RawMessage
	for _, m := range c.msgs {
		if m.seq > after {
			missed = append(missed, m.raw)
		}
	}
	if missed == nil {
		missed = []json.RawMessage{}
	}
	sock.write(map[string]any{"C": c.cursorLocked(), "M": missed})
	return true
}

func trimCursor(s string) string {
	if len(s) > 2 && s[:2] == "d-" {
		return s[2:]
	}
	return s
}

// detach forgets sock when its read ends; the connection is forgotten
// DisconnectTimeout later unless a reconnect comes.
func (c *Conn) detach(sock *socket) {
	sock.cancel()
	_ = sock.ws.CloseNow()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sock != sock {
		return
	}
	c.sock = nil
	if c.gone.Load() {
		return
	}
	s := c.srv
	c.timer = time.AfterFunc(s.cfg.DisconnectTimeout, func() {
		s.mu.Lock()
		if s.conns[c.ID] == c {
			delete(s.conns, c.ID)
		}
		s.mu.Unlock()
		s.gone(c)
	})
}

func (c *Conn) dropSocket() {
	c.mu.Lock()
	sock := c.sock
	c.mu.Unlock()
	if sock != nil {
		sock.cancel()
		_ = sock.ws.CloseNow()
	}
}
