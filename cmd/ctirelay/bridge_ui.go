package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	httpbridge "github.com/ctirelay/ctirelay/bridges/http"
	"github.com/ctirelay/ctirelay/bridges/ui"
	"github.com/ctirelay/ctirelay/relay"
)

// UIBridgeConfig is the operator dashboard: bridges.ui. It is served at
// /ui/ on the HTTP bridge, behind its listener, TLS and tokens (events to
// look, admin to act), so it runs only where bridges.http.listen is set.
type UIBridgeConfig struct {
	Enabled  bool     `yaml:"enabled"`  // true by default
	Interval Duration `yaml:"interval"` // between two summaries (2s)

	// The stand-in listener's keys, refused with where they went.
	Listen string `yaml:"listen"`
	Tokens any    `yaml:"tokens"`
}

func (uc UIBridgeConfig) validate(bad func(key, format string, a ...any)) {
	if uc.Listen != "" {
		bad("bridges.ui.listen", "is gone: the dashboard is served at /ui/ on bridges.http.listen")
	}
	if l, empty := uc.Tokens.([]any); uc.Tokens != nil && !(empty && len(l) == 0) {
		bad("bridges.ui.tokens", "are gone: the dashboard signs in with bridges.http.tokens (events to look, admin to act)")
	}
	if uc.Interval < 0 {
		bad("bridges.ui.interval", "must not be negative")
	}
}

// bridgeAuth is the HTTP bridge's token check for the dashboard's sign-in,
// bound once the bridge is built (the bridge takes the dashboard among its
// mounts, so it is built after it).
type bridgeAuth struct{ *httpbridge.Bridge }

// dashboard is the dashboard's handler and what it mounts on the bridge.
type dashboard struct {
	h    *ui.Handler
	auth *bridgeAuth
	log  *slog.Logger
	tls  bool
}

// newDashboard builds the dashboard; nil when bridges.ui.enabled is false.
// probes are the other bridges' items for its health strip.
func newDashboard(cfg Config, db database, feed *relay.Feed, driver relay.Driver, clock relay.Clock, log *slog.Logger, probes []ui.Probe) (*dashboard, error) {
	uc := cfg.Bridges.UI
	if !uc.Enabled {
		return nil, nil
	}
	jobs, err := cfg.scheduledJobs(db, clock, log)
	if err != nil {
		return nil, err
	}
	probes = append(probes, webhookProbes(cfg, db, feed)...)
	auth := &bridgeAuth{}
	h, err := ui.New(ui.Config{Store: db, Nodes: db, Feed: feed, Auth: auth, Clock: clock, Logger: log.With("bridge", "ui"),
		Interval: time.Duration(uc.Interval), Probes: probes, Version: versionString(),
		Driver: driver, Switch: cfg.Switch.Driver, Jobs: jobs, Runs: db})
	if err != nil {
		return nil, err
	}
	return &dashboard{h: h, auth: auth, log: log, tls: cfg.Bridges.HTTP.TLSCert != ""}, nil
}

// webhookProbes show each webhook endpoint in the health strip as
// `ctirelay webhooks list` does, from relay_cursor: enabled or disabled,
// and how many journal entries it is behind what the feed has read.
func webhookProbes(cfg Config, db database, feed *relay.Feed) []ui.Probe {
	var out []ui.Probe
	for _, w := range cfg.webhooks() { // Senior's notifications too
		out = append(out, ui.Probe{Name: "webhook " + w.Name, Check: func() (string, bool) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			cs, err := httpbridge.ReadControl(ctx, db, w.Name)
			if err != nil {
				return "unknown: " + err.Error(), true
			}
			state := "enabled"
			if cs.Disabled {
				state = "disabled (ctirelay webhooks enable " + w.Name + ")"
			}
			if !cs.Found {
				return state + ", nothing delivered yet", cs.Disabled
			}
			return fmt.Sprintf("%s, %d behind", state, max(feed.Position()-cs.Position, 0)), cs.Disabled
		}})
	}
	return out
}

// mounts are the dashboard's routes on the HTTP bridge: /ui/, and / sending
// a browser there. Group "": the dashboard checks tokens itself (a sign-in
// form, then a cookie, as EventSource cannot send a header).
func (d *dashboard) mounts() []httpbridge.Mount {
	if d == nil {
		return nil
	}
	return []httpbridge.Mount{
		{Pattern: "/ui/", Summary: "the operator dashboard (docs/dashboard.md)", Handler: d.h},
		{Pattern: "GET /{$}", Summary: "redirects to /ui/", Handler: http.RedirectHandler("/ui/", http.StatusFound)},
	}
}

// httpWithDashboard runs the HTTP bridge and the dashboard mounted on it:
// the dashboard starts first (its first summary ready for the first page)
// and stops first, ending its streams, which the bridge's shutdown would
// otherwise wait for.
type httpWithDashboard struct {
	*httpbridge.Bridge
	d *dashboard
}

func (b httpWithDashboard) Start(ctx context.Context) error {
	if err := b.d.h.Start(ctx); err != nil {
		return err
	}
	if err := b.Bridge.Start(ctx); err != nil {
		b.d.h.Stop()
		return err
	}
	scheme := "http"
	if b.d.tls {
		scheme = "https"
	}
	b.d.log.Info("dashboard at "+scheme+"://"+b.ListenAddr().String()+"/ui/", "bridge", "ui", "open", b.Open())
	return nil
}

func (b httpWithDashboard) Stop() {
	b.d.h.Stop()
	b.Bridge.Stop()
}
