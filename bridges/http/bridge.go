package httpbridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ctirelay/ctirelay/relay"
)

// drainTimeout bounds Stop: requests under way finish, streams close.
const drainTimeout = 5 * time.Second

// Bridge is the HTTP bridge. New, then Start; Quiesce and Stop at shutdown.
type Bridge struct {
	cfg  Config
	log  *slog.Logger
	feed *relay.Feed
	auth *auth
	mux  *http.ServeMux
	srv  *http.Server
	reg  *prometheus.Registry
	m    *Metrics

	life     relay.StartStop
	ln       net.Listener
	addr     atomic.Value // net.Addr
	stopping atomic.Bool
	streams  chan struct{} // closed at Stop: SSE and long-polls end
	served   chan struct{}
	hooks    []*webhook
	cmds     *commandBook
	clients  atomic.Int64
	once     sync.Once
	encoded  *eventCache
	hub      hub
	observe  func(...relay.SubscribeOption) (*relay.Subscription, error)
	obsMu    sync.Mutex
	obs      *relay.Subscription
	obsStop  bool
	obsDone  chan struct{}
}

// New validates the configuration and builds the routes.
func New(cfg Config) (*Bridge, error) {
	if err := cfg.defaults(); err != nil {
		return nil, fmt.Errorf("http bridge: %w", err)
	}
	b := &Bridge{
		cfg: cfg, log: cfg.Logger.With("bridge", "http"), feed: cfg.Feed, auth: newAuth(cfg.Tokens),
		streams: make(chan struct{}), served: make(chan struct{}), cmds: newCommandBook(commandBookSize), encoded: newEventCache(4096),
	}
	b.reg = cfg.Registry
	if b.reg == nil {
		b.reg = prometheus.NewRegistry()
	}
	b.m = cfg.Metrics
	if b.m == nil {
		b.m = NewMetrics()
	}
	if err := b.m.register(b.reg, b); err != nil {
		return nil, fmt.Errorf("http bridge: metrics: %w", err)
	}
	for _, wc := range cfg.Webhooks {
		b.hooks = append(b.hooks, newWebhook(b, wc))
	}
	b.mux = http.NewServeMux()
	for _, rt := range b.routes() {
		b.mux.Handle(rt.method+" "+rt.pattern, b.guard(rt))
	}
	for _, mt := range cfg.Mounts {
		if err := b.mount(mt); err != nil {
			return nil, fmt.Errorf("http bridge: mount %q: %w", mt.Pattern, err)
		}
	}
	b.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, codeNotFound, "no such route; see /v1/openapi.json")
	})
	b.srv = &http.Server{
		Handler: b.mux, TLSConfig: cfg.TLS,
		// Slow clients cannot hold a connection open for free; the stream
		// route lifts the deadlines for itself.
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      cfg.WaitMax + 30*time.Second,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(b.log.Handler(), slog.LevelDebug),
		ConnState:         b.connState,
	}
	return b, nil
}

func (b *Bridge) connState(_ net.Conn, s http.ConnState) {
	switch s {
	case http.StateNew:
		b.clients.Add(1)
	case http.StateClosed, http.StateHijacked:
		b.clients.Add(-1)
	}
}

// Handler is the bridge's routes, for tests and embedding.
func (b *Bridge) Handler() http.Handler { return b.mux }

// Registry is where the bridge's metrics are.
func (b *Bridge) Registry() *prometheus.Registry { return b.reg }

// Metrics is what the engine side reports to.
func (b *Bridge) Metrics() *Metrics { return b.m }

// Start listens and starts the webhooks. Calling it again does nothing;
// after Stop it answers relay.ErrStopped.
func (b *Bridge) Start(ctx context.Context) error { return b.life.Start(ctx, b.start) }

func (b *Bridge) start(ctx context.Context) (func(), error) {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", b.cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("http bridge: %w", err)
	}
	b.ln = ln
	b.addr.Store(ln.Addr())
	// Commands and their outcomes from every source, for the metrics.
	obs := &observer{m: b.m, verbs: map[int64]string{}}
	buffer := observerBuffer
	if b.cfg.observerBuffer > 0 {
		buffer = b.cfg.observerBuffer
	}
	b.observe = func(opts ...relay.SubscribeOption) (*relay.Subscription, error) {
		return b.feed.Subscribe("", relay.Filter{Kinds: []string{relay.KindCommand, relay.KindRejected, relay.KindReply}},
			func(d relay.Delivery) { obs.entry(d.Entry) }, append([]relay.SubscribeOption{relay.Buffer(buffer)}, opts...)...)
	}
	sub, err := b.observe()
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("http bridge: %w", err)
	}
	b.obs = sub
	b.obsDone = make(chan struct{})
	go b.watchObserver()
	b.hub.b = b
	if err := b.hub.start(); err != nil {
		sub.Close()
		ln.Close()
		return nil, fmt.Errorf("http bridge: %w", err)
	}
	for i, h := range b.hooks {
		if err := h.start(); err != nil {
			for _, s := range b.hooks[:i] {
				s.stop()
			}
			b.hub.stop()
			sub.Close()
			ln.Close()
			return nil, fmt.Errorf("http bridge: webhook %s: %w", h.cfg.Name, err)
		}
	}
	go func() {
		defer close(b.served)
		var err error
		if b.cfg.TLS != nil {
			err = b.srv.ServeTLS(ln, "", "")
		} else {
			err = b.srv.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			b.log.Error("serve", "err", err)
		}
	}()
	if b.auth.open() {
		b.log.Info("listening without tokens: loopback only, every route open", "addr", ln.Addr().String())
	} else {
		b.log.Info("listening", "addr", ln.Addr().String(), "tokens", len(b.cfg.Tokens), "webhooks", len(b.hooks))
	}
	return b.shutdown, nil
}

// ListenAddr is the address the bridge listens on once started.
func (b *Bridge) ListenAddr() net.Addr {
	a, _ := b.addr.Load().(net.Addr)
	return a
}

// Quiesce makes POST /v1/commands answer 503 while replies, events and
// webhooks still flow: called before the engine stops.
func (b *Bridge) Quiesce() { b.stopping.Store(true) }

// Stop refuses new commands, ends the streams and long-polls, lets the
// requests under way finish (up to drainTimeout), stops the webhooks and
// closes the listener. Safe to call more than once.
func (b *Bridge) Stop() { b.life.Stop() }

func (b *Bridge) shutdown() {
	b.Quiesce()
	b.once.Do(func() { close(b.streams) })
	ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	if err := b.srv.Shutdown(ctx); err != nil {
		b.log.Warn("shutdown", "err", err)
		b.srv.Close()
	}
	<-b.served
	for _, h := range b.hooks {
		h.stop()
	}
	b.obsMu.Lock()
	b.obsStop = true
	obs := b.obs
	b.obsMu.Unlock()
	obs.Close()
	<-b.obsDone
	b.hub.stop()
	b.log.Info("stopped")
}

// observerBuffer is what the metrics' subscription may lag by; should it
// lag, it subscribes again from its position (watchObserver).
const observerBuffer = 1 << 13

// watchObserver keeps the metrics' subscription alive: one cut for
// lagging resumes from the last entry it counted, so none is counted
// twice or lost.
func (b *Bridge) watchObserver() {
	defer close(b.obsDone)
	for {
		b.obsMu.Lock()
		sub := b.obs
		b.obsMu.Unlock()
		<-sub.Done()
		if !errors.Is(sub.Err(), relay.ErrLagged) {
			return
		}
		next, err := b.observe(relay.After(sub.Position()))
		if err != nil {
			return
		}
		b.log.Warn("the metrics' journal subscription lagged; resumed", "after", sub.Position())
		b.obsMu.Lock()
		if b.obsStop {
			b.obsMu.Unlock()
			next.Close()
			return
		}
		b.obs = next
		b.obsMu.Unlock()
	}
}

// route is one registered route; openapi.json documents each.
type route struct {
	method, pattern, group string
	summary                string
	h                      http.HandlerFunc
}

func (b *Bridge) routes() []route {
	return []route{
		{"POST", "/v1/commands", GroupCommands, "queue one or many commands, optionally waiting for their replies", b.postCommands},
		{"GET", "/v1/commands/{id}", GroupCommands, "a command's state and replies", b.getCommand},
		{"GET", "/v1/events", GroupEvents, "journal entries after an id (long-poll with wait)", b.getEvents},
		{"GET", "/v1/events/stream", GroupEvents, "journal entries as Server-Sent Events", b.stream},
		{"GET", "/v1/status", GroupAdmin, "queue status and webhooks", b.getStatus},
		{"GET", "/v1/agents", GroupAdmin, "each agent's pending commands and last activity", b.getAgents},
		{"GET", "/v1/dead", GroupAdmin, "dead letters", b.getDead},
		{"POST", "/v1/dead/{id}/retry", GroupAdmin, "retry one dead letter", b.retryDead},
		{"DELETE", "/v1/dead/{id}", GroupAdmin, "drop one dead letter", b.dropDead},
		{"POST", "/v1/dead/retry", GroupAdmin, "retry every dead letter matching a filter", b.retryDeadMatching},
		{"GET", "/v1/webhooks", GroupAdmin, "webhook endpoints: position, lag, failures, disabled", b.getWebhooks},
		{"POST", "/v1/webhooks/{name}/enable", GroupAdmin, "enable a disabled webhook endpoint", b.enableWebhook},
		{"POST", "/v1/webhooks/{name}/replay", GroupAdmin, "deliver again from a journal id", b.replayWebhook},
		{"GET", "/v1/openapi.json", "", "this document", b.openapi},
		{"GET", "/healthz", "", "the process is alive", b.healthz},
		{"GET", "/readyz", "", "database reachable, migrations current, switch connected", b.readyz},
		{"GET", "/metrics", GroupMetrics, "Prometheus metrics", b.metrics},
	}
}

// guard applies the route's token group and counts the request.
func (b *Bridge) guard(rt route) http.Handler { return &guarded{b: b, rt: rt} }

// guarded is a route behind its guard. ServeHTTP's frame stays small
// (admit and count are not inlined): an SSE client's goroutine waits with
// it on its stack (see stream).
type guarded struct {
	b  *Bridge
	rt route
}

func (g *guarded) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r = g.b.admit(&g.rt, w, r); r == nil {
		return
	}
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	g.rt.h(sw, r)
	g.b.count(g.rt.pattern, sw.status)
}

// admit checks the route's token group: the request to serve (carrying the
// token's name), or nil once refused.
//
//go:noinline
func (b *Bridge) admit(rt *route, w http.ResponseWriter, r *http.Request) *http.Request {
	if rt.group == "" {
		return r
	}
	name, status := b.auth.check(r, rt.group)
	switch status {
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="ctirelay"`)
		writeError(w, status, codeUnauthorized, "a valid bearer token is required")
		b.count(rt.pattern, status)
		return nil
	case http.StatusForbidden:
		writeError(w, status, codeForbidden, "this token may not use the "+rt.group+" routes")
		b.count(rt.pattern, status)
		return nil
	}
	if name == "" {
		return r // no tokens: no name to carry (a request's copy less per SSE client)
	}
	return r.WithContext(context.WithValue(r.Context(), tokenKey{}, name))
}

// count counts a request by route and status (out of line, as admit).
//
//go:noinline
func (b *Bridge) count(pattern string, status int) {
	b.m.requests.WithLabelValues(pattern, strconv.Itoa(status)).Inc()
}

// mount registers another package's handler behind the guard. ServeMux
// panics on a conflicting pattern; that is a configuration error here.
func (b *Bridge) mount(mt Mount) (err error) {
	if mt.Handler == nil || mt.Pattern == "" {
		return errors.New("needs a pattern and a handler")
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	b.mux.Handle(mt.Pattern, b.guard(route{pattern: mt.Pattern, group: mt.Group, summary: mt.Summary, h: mt.Handler.ServeHTTP}))
	return nil
}

// Authorize checks r's bearer token against group as the bridge's own
// routes do: the token's name and 200, or 401 (no valid token) or 403 (not
// allowed the group). With no tokens configured everything is allowed.
// Mounted handlers that authenticate otherwise (a dashboard's cookie) use it
// to check a token once.
func (b *Bridge) Authorize(r *http.Request, group string) (string, int) {
	name, status := b.auth.check(r, group)
	if status == 0 {
		status = http.StatusOK
	}
	return name, status
}

// Open reports whether the bridge runs without tokens (loopback only).
func (b *Bridge) Open() bool { return b.auth.open() }

type tokenKey struct{}

func tokenName(r *http.Request) string {
	s, _ := r.Context().Value(tokenKey{}).(string)
	return s
}

// statusWriter records the status; Unwrap lets http.ResponseController
// reach Flush and the deadlines underneath.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusWriter) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(p []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(p)
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (b *Bridge) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (b *Bridge) readyz(w http.ResponseWriter, r *http.Request) {
	if b.stopping.Load() {
		writeError(w, http.StatusServiceUnavailable, "not_ready", "the relay is stopping")
		return
	}
	if b.cfg.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		if err := b.cfg.Ready(ctx); err != nil {
			writeError(w, http.StatusServiceUnavailable, "not_ready", err.Error())
			return
		}
	}
	if why := driverNotReady(b.cfg.Driver); why != "" {
		writeError(w, http.StatusServiceUnavailable, "not_ready", why)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// driverNotReady says why the switch driver keeps the relay from being
// ready; "" when connected, on standby (another relay holds the switch:
// this one is ready to take over), idle (its links open on the first
// command) or unable to tell.
func driverNotReady(d relay.HealthReporter) string {
	if d == nil {
		return ""
	}
	h := d.Health()
	if h.Connected || h.Standby || h.Idle {
		return ""
	}
	why := "switch driver not connected"
	if h.LastError != "" {
		why += ": " + h.LastError
	}
	if !h.Since.IsZero() {
		why += " (since " + h.Since.UTC().Format(time.RFC3339) + ")"
	}
	return why
}

func (b *Bridge) metrics(w http.ResponseWriter, r *http.Request) {
	promhttp.HandlerFor(b.reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(b.log.Handler(), slog.LevelWarn)}).ServeHTTP(w, r)
}
