package signalr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Why a socket's life ended; they decide what the client does next.
var (
	errKeepAlive = errors.New("no keep-alive from the server")
	errAskedBack = errors.New("the server asked the client to reconnect") // T:1
	errDisc      = errors.New("the server disconnected the connection")   // D:1
)

// serverError is a persistent response's E: the connection is stopped.
type serverError struct{ msg string }

func (e *serverError) Error() string { return "server error: " + e.msg }

// pending is an invocation waiting for its result. Whoever takes it out of
// conn.pending (the reader with its result, fail, or its caller giving up)
// is the only one to touch it next: the first two signal done once.
type pending struct {
	done     chan struct{} // buffered: the signal never blocks the reader
	result   json.RawMessage
	err      error
	progress func(json.RawMessage)
}

// pendings are reused: a channel and a struct less per invocation. Only a
// pending whose signal its caller received goes back.
var pendings = sync.Pool{New: func() any { return &pending{done: make(chan struct{}, 1)} }}

func newPending(progress func(json.RawMessage)) *pending {
	p := pendings.Get().(*pending)
	p.progress = progress
	return p
}

func (p *pending) release() {
	p.result, p.err, p.progress = nil, nil, nil
	pendings.Put(p)
}

// conn is one socket's life: one context from dial to close, whose end
// closes the socket. Reads and writes take no context of their own: the
// library registers (and removes) a context.AfterFunc for every read and
// write given a cancellable one, which was a fifth of a round trip's
// allocations; closing the socket ends a read or write in progress.
type conn struct {
	ws      *websocket.Conn
	ctx     context.Context
	cancel  context.CancelFunc
	unwatch func() bool // stops the AfterFunc closing the socket at ctx's end

	mu      sync.Mutex
	pending map[uint64]*pending
	last    time.Time // when the last frame arrived
	busy    bool      // OnCall is running: the watchdog waits for it
	err     error     // why it ended
	ended   bool
}

func (cn *conn) add(n uint64, p *pending) bool {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.ended {
		return false
	}
	cn.pending[n] = p
	return true
}

// remove takes back an invocation its caller gave up on; false when the
// reader or fail took it first (and will signal it).
func (cn *conn) remove(n uint64) bool {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	_, ok := cn.pending[n]
	delete(cn.pending, n)
	return ok
}

func (cn *conn) take(n uint64) *pending {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	p := cn.pending[n]
	delete(cn.pending, n)
	return p
}

// fail ends the socket's life with err (the first reason wins) and fails
// every invocation waiting on it with ErrLost.
func (cn *conn) fail(err error) {
	cn.mu.Lock()
	if cn.ended {
		cn.mu.Unlock()
		return
	}
	cn.ended, cn.err = true, err
	ps := cn.pending
	cn.pending = nil
	cn.mu.Unlock()
	cn.cancel()
	for _, p := range ps {
		p.err = fmt.Errorf("%w: %v", ErrLost, err)
		p.done <- struct{}{}
	}
	_ = cn.ws.CloseNow()
}

// watchCtx closes the socket when its context ends (Stop, a failure).
func (cn *conn) watchCtx() {
	cn.unwatch = context.AfterFunc(cn.ctx, func() { cn.fail(context.Cause(cn.ctx)) })
}

// read reads one message into a pooled buffer; the caller gives it back
// with putBuf. The library's read limit applies.
func (cn *conn) read() (*[]byte, error) {
	_, r, err := cn.ws.Reader(context.Background())
	if err != nil {
		return nil, err
	}
	bp := getBuf()
	b := *bp
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			*bp = b
			putBuf(bp)
			return nil, err
		}
	}
	*bp = b
	return bp, nil
}

func (cn *conn) reason() error {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	return cn.err
}

// open runs negotiate, connect and start. dialCtx bounds the requests;
// runCtx is the parent of the socket's life.
func (c *Client) open(dialCtx, runCtx context.Context) (*conn, error) {
	c.setState(Connecting)
	var neg negotiation
	q := url.Values{}
	q.Set("clientProtocol", ClientProtocol)
	q.Set("connectionData", c.connData)
	if err := c.getJSON(dialCtx, "GET", "negotiate", q, &neg); err != nil {
		return nil, fmt.Errorf("signalr: %w", err)
	}
	if !neg.TryWebSockets {
		return nil, errors.New("signalr: negotiate: the server does not offer WebSockets")
	}
	c.mu.Lock()
	c.neg, c.cursor, c.groups = neg, "", ""
	c.mu.Unlock()
	cn, err := c.dial(dialCtx, runCtx, "connect", query(c.connData, neg.ConnectionToken))
	if err != nil {
		return nil, fmt.Errorf("signalr: %w", err)
	}
	var started struct{ Response string }
	if err := c.getJSON(dialCtx, "GET", "start", query(c.connData, neg.ConnectionToken), &started); err != nil {
		cn.fail(err)
		return nil, fmt.Errorf("signalr: %w", err)
	}
	if started.Response != "started" {
		cn.fail(errors.New("start not started"))
		return nil, fmt.Errorf("signalr: start: answered %q", started.Response)
	}
	c.connected(cn)
	return cn, nil
}

// reconnect opens a new socket on the same connection, from the last
// message id and groups token, so the server sends what was missed.
func (c *Client) reconnect(runCtx context.Context) (*conn, error) {
	c.mu.Lock()
	q := query(c.connData, c.neg.ConnectionToken)
	q.Set("messageId", c.cursor)
	q.Set("groupsToken", c.groups)
	c.mu.Unlock()
	cn, err := c.dial(runCtx, runCtx, "reconnect", q)
	if err != nil {
		return nil, fmt.Errorf("signalr: %w", err)
	}
	c.connected(cn)
	return cn, nil
}

func (c *Client) connected(cn *conn) {
	c.mu.Lock()
	c.current = cn
	c.mu.Unlock()
	c.setState(Connected)
}

// dial opens the WebSocket for connect or reconnect and, for connect, reads
// the initialising frame ("S":1); a 401 is tried once more with a new token.
func (c *Client) dial(dialCtx, runCtx context.Context, verb string, q url.Values) (*conn, error) {
	cn, err := c.dialOnce(dialCtx, runCtx, verb, q)
	if c.unauthorized(err) {
		cn, err = c.dialOnce(dialCtx, runCtx, verb, q)
	}
	return cn, err
}

func (c *Client) dialOnce(dialCtx, runCtx context.Context, verb string, q url.Values) (*conn, error) {
	hs, cancel := context.WithTimeout(dialCtx, c.cfg.RequestTimeout)
	defer cancel()
	req, err := c.request(hs, "GET", verb, cloneValues(q))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", verb, err)
	}
	ws, resp, err := websocket.Dial(hs, req.URL.String(), &websocket.DialOptions{HTTPClient: c.cfg.HTTPClient, HTTPHeader: req.Header})
	if err != nil {
		if resp != nil && resp.StatusCode != 101 {
			return nil, fmt.Errorf("%s: %w", verb, &StatusError{Code: resp.StatusCode, Body: resp.Status})
		}
		return nil, fmt.Errorf("%s: %w", verb, redact(err))
	}
	ws.SetReadLimit(c.cfg.ReadLimit)
	ctx, cancelLife := context.WithCancel(runCtx)
	cn := &conn{ws: ws, ctx: ctx, cancel: cancelLife, pending: map[uint64]*pending{}, last: c.cfg.Clock.Now()}
	cn.watchCtx()
	if verb == "connect" {
		// The server's first frame initialises the connection.
		_, data, err := ws.Read(hs)
		if err != nil {
			cn.fail(err)
			return nil, fmt.Errorf("connect: init frame: %w", err)
		}
		var f frame
		if err := json.Unmarshal(data, &f); err != nil || string(f.S) != "1" {
			cn.fail(errors.New("bad init frame"))
			return nil, fmt.Errorf("connect: first frame %q is not the initialising one", short(data))
		}
		c.note(f)
	}
	return cn, nil
}

// note keeps the cursor and groups token a persistent response carries.
func (c *Client) note(f frame) {
	c.mu.Lock()
	if f.C != nil {
		c.cursor = *f.C
	}
	if f.G != nil {
		c.groups = *f.G
	}
	c.mu.Unlock()
}

// run keeps the connection up: serve a socket, and when it ends reconnect,
// or start over once reconnecting has failed for DisconnectTimeout.
func (c *Client) run(ctx context.Context, cn *conn) {
	defer c.wg.Done()
	for {
		c.serve(cn)
		why := cn.reason()
		c.mu.Lock()
		c.current = nil
		c.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
		c.cfg.Logger.Warn("signalr socket lost", "err", why)
		var next *conn
		var se *serverError
		if !errors.Is(why, errDisc) && !errors.As(why, &se) {
			next = c.reconnectLoop(ctx)
		}
		if next == nil {
			next = c.restartLoop(ctx)
			if next == nil {
				return
			}
			if c.cfg.OnRestart != nil {
				c.wg.Add(1)
				go func() {
					defer c.wg.Done()
					c.cfg.OnRestart(ctx)
				}()
			}
		}
		cn = next
	}
}

func (c *Client) reconnectLoop(ctx context.Context) *conn {
	c.setState(Reconnecting)
	c.mu.Lock()
	window := seconds(c.neg.DisconnectTimeout)
	c.mu.Unlock()
	deadline := c.cfg.Clock.Now().Add(window)
	for {
		cn, err := c.reconnect(ctx)
		if err == nil {
			c.cfg.Logger.Info("signalr reconnected")
			return cn
		}
		c.cfg.Logger.Warn("signalr reconnect failed", "err", err)
		if !c.cfg.Clock.Now().Add(c.cfg.ReconnectDelay).Before(deadline) {
			return nil
		}
		if !c.pause(ctx) {
			return nil
		}
	}
}

func (c *Client) restartLoop(ctx context.Context) *conn {
	for ctx.Err() == nil {
		cn, err := c.open(ctx, ctx)
		if err == nil {
			c.cfg.Logger.Warn("signalr connection started over: hub state was lost")
			return cn
		}
		c.cfg.Logger.Warn("signalr restart failed", "err", err)
		c.setState(Reconnecting)
		if !c.pause(ctx) {
			return nil
		}
	}
	return nil
}

func (c *Client) pause(ctx context.Context) bool {
	select {
	case <-c.cfg.Clock.After(c.cfg.ReconnectDelay):
		return true
	case <-ctx.Done():
		return false
	}
}

// serve reads the socket until its life ends, with the keep-alive watchdog.
func (c *Client) serve(cn *conn) {
	c.mu.Lock()
	kat := c.neg.KeepAliveTimeout
	c.mu.Unlock()
	var wg sync.WaitGroup
	if kat != nil && *kat > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.watch(cn, seconds(*kat))
		}()
	}
	for {
		bp, err := cn.read()
		if err != nil {
			cn.fail(err)
			break
		}
		cn.mu.Lock()
		cn.last = c.cfg.Clock.Now()
		cn.mu.Unlock()
		err = c.handle(cn, *bp)
		putBuf(bp)
		if err != nil {
			cn.fail(err)
			break
		}
	}
	cn.unwatch()
	wg.Wait()
}

// watch declares the socket lost when nothing, not even a keep-alive, has
// arrived for the keep-alive timeout, after a warning at two thirds of it.
func (c *Client) watch(cn *conn, timeout time.Duration) {
	warnAt := timeout * 2 / 3
	var warned time.Time // the last frame time already warned about
	for {
		cn.mu.Lock()
		last, busy := cn.last, cn.busy
		cn.mu.Unlock()
		idle := c.cfg.Clock.Now().Sub(last)
		next := warnAt - idle
		switch {
		case busy:
			next = warnAt
		case idle >= timeout:
			c.cfg.Logger.Warn("signalr keep-alive timeout: connection lost", "timeout", timeout)
			cn.fail(errKeepAlive)
			return
		case idle >= warnAt:
			if !warned.Equal(last) {
				warned = last
				c.cfg.Logger.Warn("signalr keep-alive late: connection slow", "idle", idle)
			}
			next = timeout - idle
		}
		select {
		case <-c.cfg.Clock.After(next):
		case <-cn.ctx.Done():
			return
		}
	}
}

// handle reads one frame; data is the read buffer, reused after it returns.
func (c *Client) handle(cn *conn, data []byte) error {
	if isKeepAlive(data) {
		return nil
	}
	if n, r, ok := parseResult(data); ok {
		if p := cn.take(n); p != nil { // nil: abandoned by its caller
			if len(r) > 0 {
				p.result = append(json.RawMessage(nil), r...)
			}
			p.done <- struct{}{}
		}
		return nil
	}
	// What the frame holds (event arguments, error data) may be kept by
	// the callers: it gets a buffer of its own.
	data = append([]byte(nil), data...)
	var f frame
	if err := json.Unmarshal(data, &f); err != nil {
		c.cfg.Logger.Warn("signalr frame unreadable", "err", err)
		return nil
	}
	if f.P != nil {
		if n, ok := id(f.P.I); ok {
			cn.mu.Lock()
			var progress func(json.RawMessage)
			if p := cn.pending[n]; p != nil {
				progress = p.progress
			}
			cn.mu.Unlock()
			if progress != nil {
				progress(f.P.D)
			}
		}
		return nil
	}
	if n, ok := id(f.I); ok {
		p := cn.take(n)
		if p == nil {
			return nil // abandoned by its caller
		}
		if f.E != nil {
			p.err = &HubError{Message: *f.E, Hub: f.H, Data: f.D}
		} else {
			p.result = f.R
		}
		p.done <- struct{}{}
		return nil
	}
	c.note(f)
	for _, m := range f.M {
		var call struct {
			H string            `json:"H"`
			M string            `json:"M"`
			A []json.RawMessage `json:"A"`
		}
		if err := json.Unmarshal(m, &call); err != nil || call.M == "" {
			c.cfg.Logger.Warn("signalr message unreadable", "message", short(m))
			continue
		}
		if call.H != "" && !equalFold(call.H, c.hub) {
			continue
		}
		cn.mu.Lock()
		cn.busy = true
		cn.mu.Unlock()
		c.cfg.OnCall(Call{Hub: call.H, Method: call.M, Args: call.A})
		cn.mu.Lock()
		cn.busy, cn.last = false, c.cfg.Clock.Now()
		cn.mu.Unlock()
	}
	if f.E != nil {
		return &serverError{msg: *f.E}
	}
	if string(f.D) == "1" {
		return errDisc
	}
	if f.T == 1 {
		return errAskedBack
	}
	return nil
}

// abort tells the server the connection is over; it would otherwise keep
// tracking the closed socket for DisconnectTimeout.
func (c *Client) abort(token string) {
	if token == "" {
		return
	}
	// Short: a relay stopping must not wait long for a server that is gone.
	ctx, cancel := context.WithTimeout(context.Background(), min(c.cfg.RequestTimeout, 2*time.Second))
	defer cancel()
	if err := c.getJSON(ctx, "POST", "abort", query(c.connData, token), nil); err != nil {
		c.cfg.Logger.Debug("signalr abort", "err", err)
	}
}

func cloneValues(q url.Values) url.Values {
	out := make(url.Values, len(q))
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}
