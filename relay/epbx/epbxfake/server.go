// Package epbxfake is an EPBX-compatible server for tests and the
// simulator: the OAuth token endpoint (POST /oauth2/Token) and an ASP.NET
// SignalR 2 endpoint (/signalr) for one hub, following the wire protocol of
// the SignalR 2.4 server (negotiate, connect with "S":1, start, reconnect
// with messageId and groupsToken, abort, ping, keep-alives, "T":1). What the
// hub does is a Hub given to it; the test controls let a test drop sockets,
// stop keep-alives, ask for a reconnect, forget connections and expire
// tokens.
package epbxfake

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/ctirelay/ctirelay/relay/epbx/internal/jsonscan"
)

// Hub carries out the client's hub invocations.
type Hub interface {
	// Invoke runs method (as the client spelled it) for c. A *HubException
	// is sent as a hub error with H:true; any other error as a plain one.
	// ctx ends when the socket the invocation came on closes.
	Invoke(ctx context.Context, c *Conn, method string, args []json.RawMessage) (any, error)
}

// Lifecycle is optionally implemented by a Hub: Connected runs at start
// (OnConnected, protocol ≥ 1.4), Disconnected once the connection is gone
// (aborted, or DisconnectTimeout after its socket closed).
type Lifecycle interface {
	Connected(c *Conn)
	Disconnected(c *Conn)
}

// HubException is a hub error meant for the caller.
type HubException struct {
	Message string
	Data    any
}

func (e *HubException) Error() string { return e.Message }

// Config configures a Server.
type Config struct {
	Hub     Hub
	HubName string // default AtendimentoHub
	// Users maps user names to passwords for the password grant; nil
	// accepts any user with any password (the simulator).
	Users map[string]string
	// ClientID, when set, is the only client_id the token endpoint accepts.
	ClientID string
	// TokenTTL is the access token's lifetime; default 10 minutes.
	TokenTTL time.Duration
	// KeepAlive is the keep-alive interval; default 10 s. Negotiate answers
	// twice it as KeepAliveTimeout, and DisconnectTimeout is three times it.
	KeepAlive time.Duration
	// DisconnectTimeout overrides the default of 3 × KeepAlive.
	DisconnectTimeout time.Duration
	// TokenIn, when "header" or "query", accepts the bearer token only
	// there; default either.
	TokenIn string
	// Controls serves the test controls under /_fake/ (see Controls).
	Controls bool
	Logger   *slog.Logger
}

// Server is the fake EPBX. Its Handler serves it.
type Server struct {
	cfg Config

	mu      sync.Mutex
	tokens  map[string]grant // access token → grant
	refresh map[string]string
	conns   map[string]*Conn
	down    bool
	silent  bool // no keep-alives
	seq     atomic.Uint64
	stats   Stats
	closed  bool
	sockets sync.WaitGroup
}

type grant struct {
	user    string
	expires time.Time
}

// Stats counts what the server has done.
type Stats struct {
	PasswordGrants, RefreshGrants, Negotiates, Connects, Reconnects, Starts, Aborts, Invocations int
	Rejected                                                                                     int // requests refused for their token
}

// New builds a server.
func New(cfg Config) *Server {
	if cfg.HubName == "" {
		cfg.HubName = "AtendimentoHub"
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = 10 * time.Minute
	}
	if cfg.KeepAlive <= 0 {
		cfg.KeepAlive = 10 * time.Second
	}
	if cfg.DisconnectTimeout <= 0 {
		cfg.DisconnectTimeout = 3 * cfg.KeepAlive
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg, tokens: map[string]grant{}, refresh: map[string]string{}, conns: map[string]*Conn{}}
}

// Handler serves the token endpoint and the SignalR endpoint.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth2/Token", s.token)
	mux.HandleFunc("GET /signalr/negotiate", s.negotiate)
	mux.HandleFunc("GET /signalr/connect", s.connect)
	mux.HandleFunc("GET /signalr/reconnect", s.connect)
	mux.HandleFunc("GET /signalr/start", s.start)
	mux.HandleFunc("POST /signalr/abort", s.abort)
	mux.HandleFunc("GET /signalr/ping", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]string{"Response": "pong"})
	})
	var controls http.Handler
	if s.cfg.Controls {
		controls = s.Controls()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if controls != nil && strings.HasPrefix(r.URL.Path, "/_fake/") {
			controls.ServeHTTP(w, r)
			return
		}
		s.mu.Lock()
		down := s.down
		s.mu.Unlock()
		if down {
			http.Error(w, "service unavailable", http.StatusServiceUnavailable)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// Close closes every socket and forgets every connection.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.Forget()
	s.sockets.Wait()
}

// Stats reports the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Conns lists the live connections.
func (s *Server) Conns() []*Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Conn, 0, len(s.conns))
	for _, c := range s.conns {
		out = append(out, c)
	}
	return out
}

// Drop closes every socket; the connections stay, so clients can reconnect.
func (s *Server) Drop() {
	for _, c := range s.Conns() {
		c.dropSocket()
	}
}

// Forget closes every socket and forgets every connection, as a server
// restart or a DisconnectTimeout does: a reconnect then fails.
func (s *Server) Forget() {
	s.mu.Lock()
	cs := s.conns
	s.conns = map[string]*Conn{}
	s.mu.Unlock()
	for _, c := range cs {
		s.gone(c)
		c.dropSocket()
		c.mu.Lock()
		if c.timer != nil {
			c.timer.Stop()
		}
		c.mu.Unlock()
	}
}

// Down makes every request fail with 503 while on (the hub away); it also
// drops every socket.
func (s *Server) Down(on bool) {
	s.mu.Lock()
	s.down = on
	s.mu.Unlock()
	if on {
		s.Drop()
	}
}

// Silence stops (or resumes) the keep-alives.
func (s *Server) Silence(on bool) {
	s.mu.Lock()
	s.silent = on
	s.mu.Unlock()
}

// AskReconnect sends "T":1 on every socket, as a server shutting down does.
func (s *Server) AskReconnect() {
	for _, c := range s.Conns() {
		c.writeFrame(map[string]any{"C": c.cursor(), "T": 1, "M": []any{}})
	}
}

// ExpireTokens makes every access token issued so far invalid.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	s.tokens = map[string]grant{}
	s.mu.Unlock()
}

func (s *Server) issue(w http.ResponseWriter, user string) {
	access, refresh := randHex(), randHex()
	s.mu.Lock()
	s.tokens[access] = grant{user: user, expires: time.Now().Add(s.cfg.TokenTTL)}
	s.refresh[refresh] = user
	s.mu.Unlock()
	writeJSON(w, map[string]any{
		"access_token": access, "token_type": "bearer", "refresh_token": refresh,
		"expires_in": int(s.cfg.TokenTTL / time.Second), "userName": user,
	})
}

// token is the OAuth endpoint: password and refresh_token grants.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, "invalid_request", "unreadable form")
		return
	}
	if s.cfg.ClientID != "" && r.PostForm.Get("client_id") != s.cfg.ClientID {
		oauthError(w, "invalid_client", "unknown client_id")
		return
	}
	switch r.PostForm.Get("grant_type") {
	case "password":
		user, pass := r.PostForm.Get("username"), r.PostForm.Get("password")
		s.mu.Lock()
		want, ok := s.cfg.Users[user]
		anyone := s.cfg.Users == nil
		s.mu.Unlock()
		if user == "" || (!anyone && (!ok || want != pass)) {
			oauthError(w, "invalid_grant", "The user name or password is incorrect.")
			return
		}
		s.mu.Lock()
		s.stats.PasswordGrants++
		s.mu.Unlock()
		s.issue(w, user)
	case "refresh_token":
		rt := r.PostForm.Get("refresh_token")
		s.mu.Lock()
		user, ok := s.refresh[rt]
		delete(s.refresh, rt) // one use, as OWIN's refresh providers do
		if ok {
			s.stats.RefreshGrants++
		}
		s.mu.Unlock()
		if !ok {
			oauthError(w, "invalid_grant", "invalid refresh token")
			return
		}
		s.issue(w, user)
	default:
		oauthError(w, "unsupported_grant_type", "")
	}
}

// user authenticates a SignalR request by its bearer token.
func (s *Server) user(w http.ResponseWriter, r *http.Request) (string, bool) {
	var tok string
	if s.cfg.TokenIn != "query" {
		if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
			tok = strings.TrimPrefix(h, "Bearer ")
		}
	}
	if tok == "" && s.cfg.TokenIn != "header" {
		tok = r.URL.Query().Get("access_token")
	}
	s.mu.Lock()
	g, ok := s.tokens[tok]
	if ok && time.Now().After(g.expires) {
		delete(s.tokens, tok)
		ok = false
	}
	if !ok {
		s.stats.Rejected++
	}
	s.mu.Unlock()
	if !ok {
		http.Error(w, "Authorization has been denied for this request.", http.StatusUnauthorized)
		return "", false
	}
	return g.user, true
}

// conn finds the connection a request's connectionToken names, checking it
// belongs to the request's user (the server's "Unrecognized user identity").
func (s *Server) conn(w http.ResponseWriter, r *http.Request, user string) (*Conn, bool) {
	id, owner, _ := strings.Cut(r.URL.Query().Get("connectionToken"), ":")
	if owner != user {
		http.Error(w, "Unrecognized user identity. The user identity cannot change during an active SignalR connection.", http.StatusForbidden)
		return nil, false
	}
	s.mu.Lock()
	c := s.conns[id]
	s.mu.Unlock()
	if c == nil {
		http.Error(w, "unknown connection", http.StatusNotFound)
		return nil, false
	}
	return c, true
}

func (s *Server) negotiate(w http.ResponseWriter, r *http.Request) {
	user, ok := s.user(w, r)
	if !ok {
		return
	}
	if !s.hubOK(w, r) {
		return
	}
	c := &Conn{srv: s, ID: randHex()[:16], User: user}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		http.Error(w, "closed", http.StatusServiceUnavailable)
		return
	}
	s.conns[c.ID] = c
	s.stats.Negotiates++
	s.mu.Unlock()
	ka := s.cfg.KeepAlive.Seconds()
	writeJSON(w, map[string]any{
		"Url": "/signalr", "ConnectionToken": c.ID + ":" + user, "ConnectionId": c.ID,
		"KeepAliveTimeout": 2 * ka, "DisconnectTimeout": s.cfg.DisconnectTimeout.Seconds(),
		"ConnectionTimeout": 110.0, "TryWebSockets": true, "ProtocolVersion": "1.5",
		"TransportConnectTimeout": 5.0, "LongPollDelay": 0.0,
	})
}

// hubOK checks what every request carries (UrlBuilder.cs): the protocol
// version (the server takes 1.2 to 2.0), the hub list and, after
// negotiate, the WebSockets transport.
func (s *Server) hubOK(w http.ResponseWriter, r *http.Request) bool {
	q := r.URL.Query()
	if v, err := strconv.ParseFloat(q.Get("clientProtocol"), 64); err != nil || v < 1.2 || v > 2.0 {
		http.Error(w, "unsupported clientProtocol", http.StatusBadRequest)
		return false
	}
	if !strings.HasSuffix(r.URL.Path, "/negotiate") && q.Get("transport") != "webSockets" {
		http.Error(w, "unsupported transport", http.StatusBadRequest)
		return false
	}
	var hubs []struct{ Name string }
	if err := json.Unmarshal([]byte(r.URL.Query().Get("connectionData")), &hubs); err != nil || len(hubs) != 1 || !strings.EqualFold(hubs[0].Name, s.cfg.HubName) {
		http.Error(w, "unknown hub", http.StatusBadRequest)
		return false
	}
	return true
}

func (s *Server) start(w http.ResponseWriter, r *http.Request) {
	user, ok := s.user(w, r)
	if !ok || !s.hubOK(w, r) {
		return
	}
	c, ok := s.conn(w, r, user)
	if !ok {
		return
	}
	s.mu.Lock()
	s.stats.Starts++
	s.mu.Unlock()
	if l, ok := s.cfg.Hub.(Lifecycle); ok && c.started.CompareAndSwap(false, true) {
		l.Connected(c)
	}
	writeJSON(w, map[string]string{"Response": "started"})
}

func (s *Server) abort(w http.ResponseWriter, r *http.Request) {
	user, ok := s.user(w, r)
	if !ok || !s.hubOK(w, r) {
		return
	}
	c, ok := s.conn(w, r, user)
	if !ok {
		return
	}
	s.mu.Lock()
	s.stats.Aborts++
	delete(s.conns, c.ID)
	s.mu.Unlock()
	s.gone(c)
	c.dropSocket()
	w.WriteHeader(http.StatusOK)
}

func (s *Server) gone(c *Conn) {
	if !c.gone.CompareAndSwap(false, true) {
		return
	}
	if l, ok := s.cfg.Hub.(Lifecycle); ok {
		l.Disconnected(c)
	}
}

// connect serves connect and reconnect: the WebSocket of a connection.
func (s *Server) connect(w http.ResponseWriter, r *http.Request) {
	user, ok := s.user(w, r)
	if !ok {
		return
	}
	if !s.hubOK(w, r) {
		return
	}
	c, ok := s.conn(w, r, user)
	if !ok {
		return
	}
	q := r.URL.Query()
	reconnect := strings.HasSuffix(r.URL.Path, "/reconnect")
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	ws.SetReadLimit(64 << 10) // the server's default MaxIncomingWebSocketMessageSize
	s.mu.Lock()
	if reconnect {
		s.stats.Reconnects++
	} else {
		s.stats.Connects++
	}
	s.sockets.Add(1)
	s.mu.Unlock()
	defer s.sockets.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sock := &socket{ws: ws, ctx: ctx, cancel: cancel}
	if !c.attach(sock, reconnect, q.Get("messageId")) {
		_ = ws.CloseNow()
		return
	}
	defer c.detach(sock)
	// The socket's context closes it; reads and writes take none (see
	// socket.writeRaw).
	defer context.AfterFunc(ctx, func() { _ = ws.CloseNow() })()
	go s.keepAlive(sock)
	var buf bytes.Buffer // reused: io.ReadAll's 512 bytes a frame were half the hub's garbage
	for {
		_, r, err := ws.Reader(context.Background())
		if err != nil {
			return
		}
		buf.Reset()
		if _, err := buf.ReadFrom(r); err != nil {
			return
		}
		// The arguments alias data, on the invocation's goroutine.
		data := bytes.Clone(buf.Bytes())
		inv, ok := parseInvocation(data)
		if !ok {
			continue
		}
		s.mu.Lock()
		s.stats.Invocations++
		s.mu.Unlock()
		go s.invoke(sock, c, inv.H, inv.M, inv.A, strings.Trim(string(inv.I), `"`))
	}
}

// invocation is a client's hub call {"H","M","A","I"}.
type invocation struct {
	H string            `json:"H"`
	M string            `json:"M"`
	A []json.RawMessage `json:"A"`
	I json.RawMessage   `json:"I"`
}

// parseInvocation reads a hub call; the usual shape (plain strings, valid
// arguments) without encoding/json, anything else with it. The arguments
// alias data.
func parseInvocation(data []byte) (invocation, bool) {
	var inv invocation
	str := func(v []byte) (string, bool) {
		if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' || bytes.IndexByte(v, '\\') >= 0 {
			return "", false
		}
		return string(v[1 : len(v)-1]), true
	}
	ok := jsonscan.Object(data, func(k, v []byte) bool {
		var ok bool
		switch string(k) {
		case "H":
			inv.H, ok = str(v)
		case "M":
			inv.M, ok = str(v)
		case "I":
			inv.I, ok = v, len(v) > 0 && (v[0] == '"' || v[0] >= '0' && v[0] <= '9')
		case "A":
			ok = jsonscan.Array(v, func(e []byte) bool {
				inv.A = append(inv.A, e)
				return json.Valid(e)
			})
		}
		return ok
	})
	if ok {
		return inv, true
	}
	inv = invocation{}
	return inv, json.Unmarshal(data, &inv) == nil
}

func (s *Server) invoke(sock *socket, c *Conn, hub, method string, args []json.RawMessage, id string) {
	var out []byte
	if !strings.EqualFold(hub, s.cfg.HubName) {
		out = response(id, nil, fmt.Errorf("'%s' Hub could not be resolved.", hub))
	} else {
		ctx := context.WithValue(sock.ctx, invocationKey{}, &invocationRef{sock: sock, c: c, id: id})
		r, err := s.cfg.Hub.Invoke(ctx, c, method, args)
		out = response(id, r, err)
	}
	// Results go straight to the socket the call came on, not through the
	// message buffer: a result lost with its socket is never replayed.
	c.mu.Lock()
	defer c.mu.Unlock()
	sock.writeRaw(out)
}

// response is the hub result frame {"I","R"} or error {"I","E","H","D"}.
// A result of nothing is written {"I":"id"}, as the real server does (it
// omits a null R), without encoding/json: the benchmark's every call.
func response(id string, r any, err error) []byte {
	if r == nil && err == nil && digits(id) {
		return append(append(append(make([]byte, 0, 8+len(id)), `{"I":"`...), id...), `"}`...)
	}
	resp := map[string]any{"I": id}
	var he *HubException
	switch {
	case errors.As(err, &he):
		resp["E"], resp["H"] = he.Message, true
		if he.Data != nil {
			resp["D"] = he.Data
		}
	case err != nil:
		resp["E"] = err.Error()
	default:
		resp["R"] = r
	}
	b, _ := json.Marshal(resp)
	return b
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func (s *Server) keepAlive(sock *socket) {
	t := time.NewTicker(s.cfg.KeepAlive)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			s.mu.Lock()
			silent := s.silent
			s.mu.Unlock()
			if !silent {
				_ = sock.ws.Write(context.Background(), websocket.MessageText, []byte("{}"))
			}
		case <-sock.ctx.Done():
			return
		}
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

func oauthError(w http.ResponseWriter, code, desc string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

func randHex() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

type invocationKey struct{}

type invocationRef struct {
	sock *socket
	c    *Conn
	id   string
}

// InvocationID is the id the client gave the invocation ctx belongs to.
func InvocationID(ctx context.Context) string {
	if ref, _ := ctx.Value(invocationKey{}).(*invocationRef); ref != nil {
		return ref.id
	}
	return ""
}

// Disconnect sends "D":1 on every socket: the server has ended the
// connection and the client must start over.
func (s *Server) Disconnect() {
	for _, c := range s.Conns() {
		c.writeFrame(map[string]any{"C": c.cursor(), "D": 1, "M": []any{}})
	}
}

// ServerError sends a persistent response's "E" on every socket.
func (s *Server) ServerError(msg string) {
	for _, c := range s.Conns() {
		c.writeFrame(map[string]any{"C": c.cursor(), "E": msg, "M": []any{}})
	}
}

// Progress reports progress of the invocation ctx belongs to
// ({"P":{"I","D"}}), from inside Hub.Invoke.
func Progress(ctx context.Context, data any) {
	ref, _ := ctx.Value(invocationKey{}).(*invocationRef)
	if ref == nil {
		return
	}
	ref.c.mu.Lock()
	defer ref.c.mu.Unlock()
	ref.sock.write(map[string]any{"P": map[string]any{"I": ref.id, "D": data}})
}

// ForgetRefreshTokens makes every refresh token issued so far invalid.
func (s *Server) ForgetRefreshTokens() {
	s.mu.Lock()
	s.refresh = map[string]string{}
	s.mu.Unlock()
}

// SetPassword changes (or adds) a user's password.
func (s *Server) SetPassword(user, pass string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	users := make(map[string]string, len(s.cfg.Users)+1)
	for k, v := range s.cfg.Users {
		users[k] = v
	}
	users[user] = pass
	s.cfg.Users = users
}

// Controls serves the test controls over HTTP, for a server in another
// process (ctirelay sim --epbx-controls): POST /_fake/drop, /_fake/forget,
// /_fake/reconnect (T:1), /_fake/expire, /_fake/silence?on=1|0,
// /_fake/down?on=1|0 and /_fake/send?user=U&method=M (body: the JSON
// array of arguments) to call M on U's connections. Never expose it beyond a test machine.
func (s *Server) Controls() http.Handler {
	mux := http.NewServeMux()
	on := func(r *http.Request) bool { return r.URL.Query().Get("on") != "0" }
	mux.HandleFunc("POST /_fake/drop", func(w http.ResponseWriter, r *http.Request) { s.Drop() })
	mux.HandleFunc("POST /_fake/forget", func(w http.ResponseWriter, r *http.Request) { s.Forget() })
	mux.HandleFunc("POST /_fake/reconnect", func(w http.ResponseWriter, r *http.Request) { s.AskReconnect() })
	mux.HandleFunc("POST /_fake/expire", func(w http.ResponseWriter, r *http.Request) { s.ExpireTokens() })
	mux.HandleFunc("POST /_fake/silence", func(w http.ResponseWriter, r *http.Request) { s.Silence(on(r)) })
	mux.HandleFunc("POST /_fake/down", func(w http.ResponseWriter, r *http.Request) { s.Down(on(r)) })
	mux.HandleFunc("POST /_fake/send", func(w http.ResponseWriter, r *http.Request) {
		var args []any
		if err := json.NewDecoder(r.Body).Decode(&args); err != nil {
			http.Error(w, "body: a JSON array of arguments", http.StatusBadRequest)
			return
		}
		n := 0
		for _, c := range s.Conns() {
			if c.User == r.URL.Query().Get("user") {
				c.Send(r.URL.Query().Get("method"), args...)
				n++
			}
		}
		writeJSON(w, map[string]int{"connections": n})
	})
	mux.HandleFunc("GET /_fake/stats", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, s.Stats()) })
	return mux
}
