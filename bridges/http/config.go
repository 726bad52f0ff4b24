package httpbridge

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ctirelay/ctirelay/relay"
)

// DefaultAddr is where the bridge listens by default: loopback only.
const DefaultAddr = "127.0.0.1:8480"

// Defaults of Config.
const (
	DefaultMaxBodyBytes = 1 << 20
	DefaultWaitMax      = 60 * time.Second
	DefaultHeartbeat    = 15 * time.Second
	// DefaultStreamBytes bounds the encoded events waiting to be written to
	// one SSE client; beyond it the client is disconnected.
	DefaultStreamBytes = 256 << 10
	// DefaultStreamCoalesce is how long an SSE client's writer lets events
	// gather after a wake-up before one write and flush: at 500 events/s
	// that is ~5 events a write instead of one, for every client.
	DefaultStreamCoalesce = 10 * time.Millisecond
	// DefaultRetry is the reconnection delay an SSE client is told.
	DefaultRetry = 2 * time.Second
)

// Route groups a token may be allowed.
const (
	GroupCommands = "commands"
	GroupEvents   = "events"
	GroupAdmin    = "admin"
	GroupMetrics  = "metrics"
)

// Groups lists every route group.
var Groups = []string{GroupCommands, GroupEvents, GroupAdmin, GroupMetrics}

// Token is a named bearer token and the route groups it may use.
type Token struct {
	Name   string
	Secret string
	Groups []string
}

// Mount is a handler another package serves on the bridge's listener.
type Mount struct {
	// Pattern is a net/http ServeMux pattern ("GET /api/clicktodial",
	// "/ui/"); it must not collide with the bridge's own routes.
	Pattern string
	// Group is the token group the bridge checks before the handler runs;
	// "" leaves authentication to the handler (see Bridge.Authorize).
	Group   string
	Summary string // one line for /v1/openapi.json
	Handler http.Handler
}

// Store is what the bridge needs of the durable queue.
type Store interface {
	relay.Sources
	relay.JournalReader
	relay.Operators
}

// Config wires a Bridge. Zero values take the defaults.
type Config struct {
	Addr  string // host:port; DefaultAddr when empty
	Store Store
	// Feed is the process's feed: commands are queued and replies and
	// journal entries arrive through it. Required.
	Feed *relay.Feed
	// Node names this relay in the source reference of the commands it
	// enqueues ("<node>/<token>@<client address>").
	Node   string
	TLS    *tls.Config
	Tokens []Token
	// MaxBodyBytes bounds a request body (413 beyond).
	MaxBodyBytes int64
	// WaitMax bounds ?wait= on commands and events.
	WaitMax time.Duration
	// Heartbeat is the SSE comment interval (DefaultHeartbeat).
	Heartbeat time.Duration
	// StreamBytes bounds the encoded events waiting for one SSE client
	// (DefaultStreamBytes); beyond it the client is disconnected.
	StreamBytes int
	// StreamCoalesce is how long a stream client's writer gathers events
	// after a wake-up before it writes them (DefaultStreamCoalesce;
	// negative: write at once).
	StreamCoalesce time.Duration
	// ringSize replaces hubRing, observerBuffer the metrics' subscription
	// buffer (tests).
	ringSize, observerBuffer int
	// ReadHeaderTimeout and IdleTimeout guard against slow and idle
	// clients (5 s and 2 min); the stream route lifts the others.
	ReadHeaderTimeout time.Duration
	IdleTimeout       time.Duration
	// Ready reports why the relay is not ready (database unreachable,
	// migrations pending); nil when it is.
	Ready func(ctx context.Context) error
	// Driver is the switch driver's link, for /readyz and the metrics; nil
	// when the driver cannot tell (it is then taken as connected).
	Driver relay.HealthReporter
	// Engine reports the engine's running totals for the metrics (retries,
	// dead letters, in doubt); nil when there is no engine in the process.
	Engine func() relay.EngineStats
	// Webhooks are the endpoints the journal is POSTed to.
	Webhooks []WebhookConfig
	// Mounts are handlers of other packages served on this listener (the
	// dashboard at /ui/, the CRM routes), behind its tokens and limits.
	Mounts []Mount
	// Registry, when set, is where the bridge's metrics are registered and
	// what /metrics serves.
	Registry *prometheus.Registry
	Metrics  *Metrics
	// Client posts webhooks; one with no redirects is built when nil.
	Client *http.Client
	Logger *slog.Logger
	Clock  relay.Clock
	// Rand returns a number in [0,1) for backoff jitter (math/rand/v2 when nil).
	Rand func() float64
}

func (c *Config) defaults() error {
	if c.Store == nil {
		return errors.New("http bridge needs a store")
	}
	if c.Feed == nil {
		return errors.New("http bridge needs a feed")
	}
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.WaitMax <= 0 {
		c.WaitMax = DefaultWaitMax
	}
	if c.ReadHeaderTimeout <= 0 {
		c.ReadHeaderTimeout = 5 * time.Second
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 2 * time.Minute
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = DefaultHeartbeat
	}
	if c.StreamCoalesce == 0 {
		c.StreamCoalesce = DefaultStreamCoalesce
	}
	if c.StreamBytes <= 0 {
		c.StreamBytes = DefaultStreamBytes
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Clock == nil {
		c.Clock = relay.SystemClock{}
	}
	if c.Rand == nil {
		c.Rand = rand.Float64
	}
	if c.Client == nil {
		c.Client = &http.Client{CheckRedirect: noRedirects}
	}
	if err := CheckAddr(c.Addr, len(c.Tokens) > 0); err != nil {
		return err
	}
	seen := map[string]bool{}
	c.Webhooks = slices.Clone(c.Webhooks)
	for i := range c.Webhooks {
		w := &c.Webhooks[i]
		if err := w.validate(); err != nil { // and takes the defaults
			return fmt.Errorf("webhook %d: %w", i, err)
		}
		if seen[w.Name] {
			return fmt.Errorf("webhook %q defined twice", w.Name)
		}
		seen[w.Name] = true
	}
	return nil
}

// noRedirects keeps a webhook endpoint from sending the signed body
// elsewhere: the 3xx is the answer, a failure.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// CheckAddr refuses a non-loopback address when no token guards it.
func CheckAddr(addr string, tokens bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return fmt.Errorf("listen must be host:port, e.g. %s, not %q", DefaultAddr, addr)
	}
	if tokens || isLoopback(host) {
		return nil
	}
	return fmt.Errorf("listen %s is not loopback and no tokens are configured: anyone could queue commands (add bridges.http.tokens or listen on 127.0.0.1)", addr)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
