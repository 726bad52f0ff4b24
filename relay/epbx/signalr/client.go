package signalr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/ctirelay/ctirelay/relay"
)

// Errors an invocation can fail with; callers branch on them.
var (
	// ErrNotConnected: the invocation was not sent (connecting,
	// reconnecting or restarting); sending it later is safe.
	ErrNotConnected = errors.New("signalr: not connected")
	// ErrLost: the invocation was sent and the socket was lost before its
	// result came; the server may have acted on it.
	ErrLost = errors.New("signalr: connection lost before the result")
	// ErrStopped: the client has been stopped.
	ErrStopped = errors.New("signalr: stopped")
)

// HubError is an error the hub method returned ({"I","E","H","D"}).
type HubError struct {
	Message string
	Hub     bool            // a HubException: the message is meant for the caller
	Data    json.RawMessage // the exception's error data, if any
}

func (e *HubError) Error() string { return "hub error: " + e.Message }

// TokenPlace says where the bearer token travels on each request.
type TokenPlace string

// Token places; the WebSocket upgrade of a browser client can only use the
// query string, so servers written for the JavaScript client read it there.
const (
	TokenHeader TokenPlace = "header" // Authorization: Bearer …
	TokenQuery  TokenPlace = "query"  // ?access_token=…
	TokenBoth   TokenPlace = "both"
)

// Call is a server call to the client: a hub method run on the client.
type Call struct {
	Hub    string
	Method string
	Args   []json.RawMessage
}

// Is reports whether the call is method, matched without regard to case as
// the server and the JavaScript client do.
func (c Call) Is(method string) bool { return strings.EqualFold(c.Method, method) }

// State is the connection's state.
type State int

// Connection states.
const (
	Connecting State = iota
	Connected
	Reconnecting
	Disconnected
)

func (s State) String() string {
	return [...]string{"connecting", "connected", "reconnecting", "disconnected"}[s]
}

// Config configures a Client.
type Config struct {
	// URL is the SignalR endpoint, e.g. https://pbx.example/signalr.
	URL string
	// Hub is the hub's name (case-insensitive), e.g. AtendimentoHub.
	Hub string
	// Token returns the bearer token for a request; nil sends none. It is
	// called for every request, so a renewed token is used at once.
	Token func(ctx context.Context) (string, error)
	// TokenRejected is told when the server answered 401 to a token: the
	// token source should drop it (the server revoked or expired it before
	// its time). The request is then tried once more with a new token.
	TokenRejected func()
	// TokenIn says where the token goes; default TokenBoth.
	TokenIn TokenPlace
	// TokenParam is the query parameter's name; default access_token.
	TokenParam string
	// OnCall receives the server's calls, in order, on the reading
	// goroutine; while it runs the keep-alive watchdog waits.
	OnCall func(Call)
	// OnRestart runs (on a goroutine of its own) after the connection was
	// started over: the hub's state for the old connection is gone.
	OnRestart func(ctx context.Context)
	// OnState reports each change of state.
	OnState func(State)
	// HTTPClient makes the requests; default a client with no timeout (each
	// request has RequestTimeout).
	HTTPClient *http.Client
	// RequestTimeout bounds negotiate, start, abort and each handshake;
	// default 10 s.
	RequestTimeout time.Duration
	// ReconnectDelay is the pause between reconnect attempts; default 2 s.
	ReconnectDelay time.Duration
	// ReadLimit is the largest frame read; default 1 MiB (the library's
	// default of 32 KiB is smaller than a hub's interval list can be).
	ReadLimit int64
	Clock     relay.Clock
	Logger    *slog.Logger
}

func (c Config) withDefaults() (Config, error) {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, fmt.Errorf("signalr: url %q: want http(s)://host/path", c.URL)
	}
	if c.Hub == "" {
		return c, errors.New("signalr: no hub name")
	}
	c.URL = strings.TrimRight(c.URL, "/")
	switch c.TokenIn {
	case "":
		c.TokenIn = TokenBoth
	case TokenHeader, TokenQuery, TokenBoth:
	default:
		return c, fmt.Errorf("signalr: token place %q: want header, query or both", c.TokenIn)
	}
	if c.TokenParam == "" {
		c.TokenParam = "access_token"
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{}
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 10 * time.Second
	}
	if c.ReconnectDelay <= 0 {
		c.ReconnectDelay = 2 * time.Second
	}
	if c.ReadLimit <= 0 {
		c.ReadLimit = 1 << 20
	}
	if c.Clock == nil {
		c.Clock = relay.SystemClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.OnCall == nil {
		c.OnCall = func(Call) {}
	}
	return c, nil
}

// Client is one SignalR connection, kept up until Stop.
type Client struct {
	cfg      Config
	hub      string // lower case, as the JavaScript client sends it
	connData string
	life     relay.StartStop

	mu      sync.Mutex
	state   State
	neg     negotiation
	cursor  string // C: the last message id, sent on reconnect
	groups  string // G: the groups token, sent on reconnect
	nextID  uint64
	current *conn // the socket while connected
	stopped bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// New checks cfg and builds a client; Start connects it.
func New(cfg Config) (*Client, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	hub := strings.ToLower(cfg.Hub)
	return &Client{cfg: cfg, hub: hub, connData: connectionData(hub)}, nil
}

// Start negotiates, connects and starts the connection, then keeps it up
// until Stop (ctx bounds only the start). Relay lifecycle: Start twice does
// nothing, Start after Stop returns relay.ErrStopped.
func (c *Client) Start(ctx context.Context) error {
	return c.life.Start(ctx, func(ctx context.Context) (func(), error) {
		runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		cn, err := c.open(ctx, runCtx)
		if err != nil {
			cancel()
			c.setState(Disconnected)
			return nil, err
		}
		c.mu.Lock()
		c.cancel = cancel
		c.mu.Unlock()
		c.wg.Add(1)
		go c.run(runCtx, cn)
		return c.shutdown, nil
	})
}

// Stop aborts the connection: invocations in flight fail with ErrLost and
// OnCall is not called after Stop returns. Safe to call twice.
func (c *Client) Stop() { c.life.Stop() }

func (c *Client) shutdown() {
	c.mu.Lock()
	c.stopped = true
	cancel, token := c.cancel, c.neg.ConnectionToken
	c.mu.Unlock()
	cancel()
	c.wg.Wait()
	c.abort(token)
	c.setState(Disconnected)
}

// State reports the connection's state.
func (c *Client) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// ConnectionID is the server's id for the current connection.
func (c *Client) ConnectionID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.neg.ConnectionID
}

func (c *Client) setState(s State) {
	c.mu.Lock()
	changed := c.state != s
	c.state = s
	c.mu.Unlock()
	if changed && c.cfg.OnState != nil {
		c.cfg.OnState(s)
	}
}

// Invoke calls a hub method and waits for its result. Errors: ErrNotConnected
// (not sent), ErrLost (sent, result lost), *HubError (the method failed), or
// ctx's error (sent, no result yet: the server may still act on it).
func (c *Client) Invoke(ctx context.Context, method string, args ...any) (json.RawMessage, error) {
	return c.invoke(ctx, 0, nil, method, args)
}

// InvokeProgress is Invoke with the method's progress reports ({"P"})
// passed to progress as they come.
func (c *Client) InvokeProgress(ctx context.Context, progress func(json.RawMessage), method string, args ...any) (json.RawMessage, error) {
	return c.invoke(ctx, 0, progress, method, args)
}

// InvokeWithin is Invoke bounded by timeout as well as ctx: cheaper than a
// context.WithTimeout per call (no context, no cancel registration with
// ctx). Past the timeout it fails with context.DeadlineExceeded, as a
// context's deadline would: sent, no result.
func (c *Client) InvokeWithin(ctx context.Context, timeout time.Duration, method string, args ...any) (json.RawMessage, error) {
	return c.invoke(ctx, timeout, nil, method, args)
}

// timers bound InvokeWithin; stopped before they go back (Go ≥ 1.23: a
// stopped timer delivers nothing stale).
var timers = sync.Pool{New: func() any {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}}

func (c *Client) invoke(ctx context.Context, timeout time.Duration, progress func(json.RawMessage), method string, args []any) (json.RawMessage, error) {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return nil, ErrStopped
	}
	cn := c.current
	if cn == nil || c.state != Connected {
		c.mu.Unlock()
		return nil, ErrNotConnected
	}
	n := c.nextID
	c.nextID++
	c.mu.Unlock()
	bp := getBuf()
	data, err := appendInvocation(*bp, c.hub, method, args, n)
	*bp = data
	if err != nil {
		putBuf(bp)
		return nil, fmt.Errorf("signalr: %s %w", method, err)
	}
	p := newPending(progress)
	if !cn.add(n, p) {
		putBuf(bp)
		p.release()
		return nil, ErrNotConnected
	}
	// No context for the write (see conn): a cancelled write would close
	// the socket under every other invocation; fail closes it when the
	// connection's life ends, which ends a write in progress.
	err = cn.ws.Write(context.Background(), websocket.MessageText, data)
	putBuf(bp) // the library has framed (copied) it
	if err != nil {
		if cn.remove(n) {
			p.release()
		}
		cn.fail(fmt.Errorf("write: %w", err))
		return nil, fmt.Errorf("%w: %s: %v", ErrLost, method, err)
	}
	var expired <-chan time.Time
	if timeout > 0 {
		t := timers.Get().(*time.Timer)
		t.Reset(timeout)
		defer func() { t.Stop(); timers.Put(t) }()
		expired = t.C
	}
	var cause error
	select {
	case <-p.done:
		r, err := p.result, p.err
		p.release()
		return r, err
	case <-ctx.Done():
		cause = ctx.Err()
	case <-expired:
		cause = context.DeadlineExceeded
	}
	if cn.remove(n) {
		p.release()
	}
	return nil, fmt.Errorf("signalr: %s: %w", method, cause)
}

// request builds an HTTP request to the endpoint's verb with the token.
func (c *Client) request(ctx context.Context, method, verb string, q url.Values) (*http.Request, error) {
	var tok string
	if c.cfg.Token != nil {
		t, err := c.cfg.Token(ctx)
		if err != nil {
			return nil, fmt.Errorf("token: %w", err)
		}
		tok = t
	}
	if tok != "" && c.cfg.TokenIn != TokenHeader {
		q.Set(c.cfg.TokenParam, tok)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.cfg.URL+"/"+verb+"?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	if tok != "" && c.cfg.TokenIn != TokenQuery {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return req, nil
}

// unauthorized reports a 401 and tells the token source.
func (c *Client) unauthorized(err error) bool {
	var se *StatusError
	if !errors.As(err, &se) || se.Code != http.StatusUnauthorized || c.cfg.TokenRejected == nil {
		return false
	}
	c.cfg.TokenRejected()
	return true
}

// getJSON runs a GET (or POST) and decodes its JSON answer into v; a 401 is
// tried once more with a new token.
func (c *Client) getJSON(ctx context.Context, method, verb string, q url.Values, v any) error {
	err := c.getJSONOnce(ctx, method, verb, q, v)
	if c.unauthorized(err) {
		err = c.getJSONOnce(ctx, method, verb, q, v)
	}
	return err
}

func (c *Client) getJSONOnce(ctx context.Context, method, verb string, q url.Values, v any) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	req, err := c.request(ctx, method, verb, cloneValues(q))
	if err != nil {
		return fmt.Errorf("%s: %w", verb, err)
	}
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", verb, redact(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.cfg.ReadLimit))
	if err != nil {
		return fmt.Errorf("%s: %w", verb, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %w", verb, &StatusError{Code: resp.StatusCode, Body: short(body)})
	}
	if v == nil {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%s: %w", verb, err)
	}
	return nil
}

// StatusError is an HTTP answer other than 200.
type StatusError struct {
	Code int
	Body string
}

func (e *StatusError) Error() string { return fmt.Sprintf("http %d: %s", e.Code, e.Body) }

func short(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// redact drops the request URL from a transport error: its query string
// carries the bearer token when TokenIn is query or both.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}
