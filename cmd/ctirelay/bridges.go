package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/ctirelay/ctirelay/bridges/socket"
	"github.com/ctirelay/ctirelay/bridges/tactiumserver"
	"github.com/ctirelay/ctirelay/bridges/ui"
	"github.com/ctirelay/ctirelay/relay"
)

// bridgeRunner is a bridge as `run` drives it: started after the engine;
// at shutdown quiesced (no new commands) before the engine stops, so the
// replies of the commands it finishes still reach their clients, and
// stopped after it.
type bridgeRunner interface {
	Start(ctx context.Context) error
	Quiesce()
	Stop()
}

// bridges are the running bridges, in start order.
type bridges []bridgeRunner

// startBridges starts the configured bridges; on failure the ones started
// are stopped.
func startBridges(ctx context.Context, cfg Config, db database, feed *relay.Feed, driver relay.Driver, stats func() relay.EngineStats, node string, sole bool, clock relay.Clock, log *slog.Logger) (bridges, error) {
	var out bridges
	var probes []ui.Probe // what the dashboard's health strip shows of the others
	clients := map[string]func() int{}
	if cfg.Bridges.Socket.Listen != "" {
		b, err := newSocketBridge(cfg, feed, node, clock, log)
		if err != nil {
			return nil, err
		}
		if err := b.Start(ctx); err != nil {
			return nil, fmt.Errorf("bridges.socket: %w", err)
		}
		out = append(out, b)
		probes = append(probes, ui.Probe{Name: "socket bridge", State: func() string {
			s := b.Stats()
			return fmt.Sprintf("%d clients, %d monitoring", s.Connections, s.Monitoring)
		}})
		clients["socket"] = func() int { return b.Stats().Connections }
	}
	if cfg.Bridges.File.TxDir != "" {
		b, err := newFileBridge(cfg, db, feed, sole, clock, log)
		if err == nil {
			err = b.Start(ctx)
		}
		if err != nil {
			out.stop()
			return nil, err
		}
		out = append(out, b)
		probes = append(probes, ui.Probe{Name: "file bridge", State: func() string { return fileBridgeState(b.Stats()) }})
	}
	crmr, err := newCRMRoutes(cfg, db, feed, driver, clock, log)
	if err != nil {
		out.stop()
		return nil, err
	}
	// Last, so the dashboard mounted on it can show the others.
	if cfg.Bridges.HTTP.Listen != "" {
		b, err := startHTTPBridge(ctx, cfg, db, feed, driver, stats, node, clock, log, clients, probes, crmr)
		if err != nil {
			out.stop()
			return nil, fmt.Errorf("bridges.http: %w", err)
		}
		if crmr != nil {
			out = append(out, crmr) // stopped after the bridge
		}
		out = append(out, b)
	} else if crmr != nil {
		// Only the pop notes (bridges.crm.screen_pop.agents): no routes.
		if err := crmr.Start(ctx); err != nil {
			out.stop()
			return nil, err
		}
		out = append(out, crmr)
	}
	return out, nil
}

// startHTTPBridge starts the HTTP bridge with the dashboard (bridges.ui)
// mounted at /ui/ and the crm routes (bridges.crm, nil when off), whose feed
// subscribers it starts before the bridge serves.
func startHTTPBridge(ctx context.Context, cfg Config, db database, feed *relay.Feed, driver relay.Driver, stats func() relay.EngineStats, node string, clock relay.Clock, log *slog.Logger, clients map[string]func() int, probes []ui.Probe, crmr *crmRoutes) (bridgeRunner, error) {
	dash, err := newDashboard(cfg, db, feed, driver, clock, log, probes)
	if err != nil {
		return nil, fmt.Errorf("bridges.ui: %w", err)
	}
	b, err := newHTTPBridge(cfg, db, feed, driver, stats, node, clock, log, clients, crmr.Webhooks(), append(dash.mounts(), crmr.Mounts()...)...)
	if err != nil {
		return nil, err
	}
	var r bridgeRunner = b
	if dash != nil {
		dash.auth.Bridge = b
		r = httpWithDashboard{Bridge: b, d: dash}
	}
	if crmr != nil {
		crmr.Attach(b)
		if err := crmr.Start(ctx); err != nil {
			return nil, err
		}
	}
	if err := r.Start(ctx); err != nil {
		if crmr != nil {
			crmr.Stop()
		}
		return nil, err
	}
	return r, nil
}

func (bs bridges) quiesce() {
	for _, b := range bs {
		b.Quiesce()
	}
}

// stop stops them in reverse order.
func (bs bridges) stop() {
	for i := len(bs) - 1; i >= 0; i-- {
		bs[i].Stop()
	}
}

func newSocketBridge(cfg Config, feed *relay.Feed, node string, clock relay.Clock, log *slog.Logger) (*socket.Bridge, error) {
	sc := cfg.Bridges.Socket
	charset, err := relay.ParseCharset(sc.Charset)
	if err != nil {
		return nil, fmt.Errorf("bridges.socket.charset: %w", err)
	}
	tlsConfig, err := loadTLS(sc.TLSCert, sc.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("bridges.socket.tls_cert: %w", err)
	}
	b, err := socket.New(socket.Config{
		Addr: sc.Listen, Feed: feed, Node: node,
		Limits: tactiumserver.Limits{
			MaxConns: sc.MaxConns, IdleTimeout: time.Duration(sc.IdleTimeout), MaxFrameBytes: sc.MaxFrameBytes,
			FrameRate: sc.FrameRate, MaxMonitors: sc.MaxMonitors, OutboundBytes: int(sc.OutboundBytes), MaxBufferedBytes: int64(sc.MaxBufferedBytes),
		},
		TLS: tlsConfig, AdminSecret: sc.AdminSecret, Charset: charset,
		Logger: log, Clock: clock,
	})
	if err != nil {
		return nil, fmt.Errorf("bridges.socket: %w", err)
	}
	return b, nil
}

// validate checks the socket bridge's keys, naming the one at fault.
func (sc SocketBridgeConfig) validate(bad func(key, format string, a ...any)) {
	if sc.Listen != "" {
		if _, port, err := net.SplitHostPort(sc.Listen); err != nil || port == "" {
			bad("bridges.socket.listen", "must be host:port, e.g. %s, or \"\" to disable the bridge, not %q", socket.DefaultAddr, sc.Listen)
		}
	}
	if sc.MaxConns < 0 {
		bad("bridges.socket.max_conns", "must not be negative")
	}
	if sc.MaxFrameBytes < 0 {
		bad("bridges.socket.max_frame_bytes", "must not be negative")
	}
	if sc.FrameRate < 0 {
		bad("bridges.socket.frame_rate", "must not be negative")
	}
	if sc.MaxMonitors < 0 {
		bad("bridges.socket.max_monitors", "must not be negative")
	}
	if sc.OutboundBytes > 1<<30 {
		bad("bridges.socket.outbound_bytes", "at most 1GiB")
	}
	if sc.MaxFrameBytes > 1<<20 {
		bad("bridges.socket.max_frame_bytes", "at most 1048576")
	}
	if _, err := relay.ParseCharset(sc.Charset); err != nil {
		bad("bridges.socket.charset", "%v", err)
	}
	if strings.ContainsAny(sc.AdminSecret, "<>$") {
		bad("bridges.socket.admin_secret", "must not contain '<', '>' or '$'")
	}
	if (sc.TLSCert == "") != (sc.TLSKey == "") {
		bad("bridges.socket.tls_cert", "tls_cert and tls_key go together")
	}
}
