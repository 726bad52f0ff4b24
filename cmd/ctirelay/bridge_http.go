package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	httpbridge "github.com/ctirelay/ctirelay/bridges/http"
	"github.com/ctirelay/ctirelay/relay"
)

// HTTPBridgeConfig is the HTTP bridge (REST, SSE, webhooks, health and
// metrics): bridges.http.
type HTTPBridgeConfig struct {
	Listen       string          `yaml:"listen"` // host:port; "" disables the bridge
	TLSCert      string          `yaml:"tls_cert"`
	TLSKey       string          `yaml:"tls_key"`
	Tokens       []HTTPToken     `yaml:"tokens"`
	MaxBodyBytes int64           `yaml:"max_body_bytes"`
	WaitMax      Duration        `yaml:"wait_max"`
	Webhooks     []WebhookConfig `yaml:"webhooks"`
}

// HTTPToken is a named bearer token and its route groups
// (commands, events, admin, metrics). Put the secret in the environment:
// secret: ${CTIRELAY_TOKEN_ERP}.
type HTTPToken struct {
	Name   string   `yaml:"name"`
	Secret string   `yaml:"secret"`
	Groups []string `yaml:"groups"`
}

// WebhookConfig is one webhook endpoint: bridges.http.webhooks[].
type WebhookConfig struct {
	Name          string   `yaml:"name"`
	URL           string   `yaml:"url"`
	Secret        string   `yaml:"secret"`  // whsec_…
	Secrets       []string `yaml:"secrets"` // several during a rotation
	Agents        []string `yaml:"agents"`
	Kinds         []string `yaml:"kinds"`
	Timeout       Duration `yaml:"timeout"`
	FailureWindow Duration `yaml:"failure_window"`
}

func (w WebhookConfig) bridge() httpbridge.WebhookConfig {
	secrets := slices.Clone(w.Secrets)
	if w.Secret != "" {
		secrets = append([]string{w.Secret}, secrets...)
	}
	return httpbridge.WebhookConfig{Name: w.Name, URL: w.URL, Secrets: secrets, Agents: w.Agents, Kinds: w.Kinds,
		Timeout: time.Duration(w.Timeout), FailureWindow: time.Duration(w.FailureWindow)}
}

// validate checks the HTTP bridge's keys, naming the one at fault. Token
// secrets are never part of a message.
func (hc HTTPBridgeConfig) validate(bad func(key, format string, a ...any)) {
	if hc.Listen != "" {
		if err := httpbridge.CheckAddr(hc.Listen, len(hc.Tokens) > 0); err != nil {
			bad("bridges.http.listen", "%v", err)
		}
	}
	if (hc.TLSCert == "") != (hc.TLSKey == "") {
		bad("bridges.http.tls_cert", "tls_cert and tls_key go together")
	}
	if hc.MaxBodyBytes < 0 {
		bad("bridges.http.max_body_bytes", "must not be negative")
	}
	if hc.WaitMax < 0 {
		bad("bridges.http.wait_max", "must not be negative")
	}
	names := map[string]bool{}
	for i, t := range hc.Tokens {
		key := fmt.Sprintf("bridges.http.tokens[%d]", i)
		switch {
		case t.Name == "":
			bad(key+".name", "required")
		case names[t.Name]:
			bad(key+".name", "%q is used twice", t.Name)
		}
		names[t.Name] = true
		if len(t.Secret) < 16 {
			bad(key+".secret", "at least 16 characters (e.g. from 'openssl rand -hex 32', given as ${ENV})")
		}
		if len(t.Groups) == 0 {
			bad(key+".groups", "list the route groups it may use: %s", strings.Join(httpbridge.Groups, ", "))
		}
		for _, g := range t.Groups {
			if !slices.Contains(httpbridge.Groups, g) {
				bad(key+".groups", "unknown group %q (use %s)", g, strings.Join(httpbridge.Groups, ", "))
			}
		}
	}
	hooks := map[string]bool{}
	for i, w := range hc.Webhooks {
		key := fmt.Sprintf("bridges.http.webhooks[%d]", i)
		if hooks[w.Name] {
			bad(key+".name", "%q is used twice", w.Name)
		}
		hooks[w.Name] = true
		if err := httpbridge.ValidateWebhook(w.bridge()); err != nil {
			bad(key, "%v", err)
		}
	}
}

// newHTTPBridge builds the HTTP bridge on the process's feed. clients
// reports the other bridges' connections for the metrics, stats the
// engine's totals; extra are other packages' webhooks (Senior's
// notifications) and mounts their routes on its listener (the dashboard,
// bridges.crm).
func newHTTPBridge(cfg Config, db database, feed *relay.Feed, driver relay.Driver, stats func() relay.EngineStats, node string, clock relay.Clock, log *slog.Logger, clients map[string]func() int,
	extra []httpbridge.WebhookConfig, mounts ...httpbridge.Mount) (*httpbridge.Bridge, error) {
	hc := cfg.Bridges.HTTP
	tlsConfig, err := loadTLS(hc.TLSCert, hc.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("bridges.http.tls_cert: %w", err)
	}
	tokens := make([]httpbridge.Token, len(hc.Tokens))
	for i, t := range hc.Tokens {
		tokens[i] = httpbridge.Token{Name: t.Name, Secret: t.Secret, Groups: t.Groups}
	}
	hooks := make([]httpbridge.WebhookConfig, len(hc.Webhooks))
	for i, w := range hc.Webhooks {
		hooks[i] = w.bridge()
	}
	hooks = append(hooks, extra...) // Senior's notifications (bridges.crm)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := httpbridge.NewMetrics()
	for name, n := range clients {
		m.BridgeClients(name, n)
	}
	b, err := httpbridge.New(httpbridge.Config{
		Addr: hc.Listen, Store: db, Feed: feed, Node: node, TLS: tlsConfig, Tokens: tokens,
		MaxBodyBytes: hc.MaxBodyBytes, WaitMax: time.Duration(hc.WaitMax), Webhooks: hooks,
		Registry: reg, Metrics: m, Logger: log, Clock: clock, Mounts: mounts, Driver: driver, Engine: stats,
		Ready: func(ctx context.Context) error { return ready(ctx, db) },
	})
	if err != nil {
		return nil, err // startBridges names the key
	}
	return b, nil
}

// ready is /readyz's database part: the database answers and its
// migrations are current (the bridge checks the switch driver's link).
func ready(ctx context.Context, db database) error {
	if _, err := db.JournalHead(ctx); err != nil {
		return fmt.Errorf("database unreachable: %w", err)
	}
	pending, err := db.Pending(ctx)
	if err != nil {
		return fmt.Errorf("read applied migrations: %w", err)
	}
	if len(pending) > 0 {
		return fmt.Errorf("%d migrations pending", len(pending))
	}
	return nil
}
