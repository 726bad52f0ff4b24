package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ctirelay/ctirelay/bridges/ui"
	"github.com/ctirelay/ctirelay/relay"
)

// UIBridgeConfig is the operator dashboard's own listener, a stand-in until
// the dashboard mounts at /ui/ on the HTTP bridge (bridges.http), whose
// listener and tokens it is then to share: this block is to be merged into
// that one. Disabled by default; 127.0.0.1:8481 is the suggested address.
type UIBridgeConfig struct {
	Listen   string    `yaml:"listen"`   // host:port; "" disables the dashboard
	Tokens   []UIToken `yaml:"tokens"`   // none: open, on a loopback address only
	Interval Duration  `yaml:"interval"` // between two summaries (2s)
	TLSCert  string    `yaml:"tls_cert"` // PEM files; both or neither
	TLSKey   string    `yaml:"tls_key"`
}

// UIToken is a secret and its route groups: events to look, admin to act
// on dead letters (the HTTP bridge's group names).
type UIToken struct {
	Name   string   `yaml:"name"`
	Secret string   `yaml:"secret"`
	Groups []string `yaml:"groups"`
}

// UIDefaultAddr is the address the documentation suggests.
const UIDefaultAddr = "127.0.0.1:8481"

func (uc UIBridgeConfig) validate(bad func(key, format string, a ...any)) {
	if uc.Listen == "" {
		return
	}
	host, port, err := net.SplitHostPort(uc.Listen)
	if err != nil || port == "" {
		bad("bridges.ui.listen", "must be host:port, e.g. %s, or \"\" to disable the dashboard, not %q", UIDefaultAddr, uc.Listen)
		return
	}
	if len(uc.Tokens) == 0 && !isLoopback(host) {
		bad("bridges.ui.tokens", "are needed when bridges.ui.listen is not a loopback address (%q)", uc.Listen)
	}
	for i, t := range uc.Tokens {
		key := "bridges.ui.tokens[" + strconv.Itoa(i) + "]"
		if len(t.Secret) < 16 {
			bad(key+".secret", "must be at least 16 characters")
		}
		if len(t.Groups) == 0 {
			bad(key+".groups", "must name events or admin")
		}
		for _, g := range t.Groups {
			if g != ui.GroupEvents && g != ui.GroupAdmin {
				bad(key+".groups", "must be events or admin, not %q", g)
			}
		}
	}
	if (uc.TLSCert == "") != (uc.TLSKey == "") {
		bad("bridges.ui.tls_cert", "tls_cert and tls_key go together")
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// uiTokens checks secrets by their SHA-256 in constant time, against every
// token, as the HTTP bridge does.
type uiTokens []struct {
	sum    [32]byte
	groups []string
}

func (ts uiTokens) Groups(secret string) ([]string, bool) {
	sum := sha256.Sum256([]byte(secret))
	found := -1
	for i := range ts {
		if subtle.ConstantTimeCompare(sum[:], ts[i].sum[:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return nil, false
	}
	return slices.Clone(ts[found].groups), true
}

// uiBridge serves the dashboard on its own listener.
type uiBridge struct {
	h    *ui.Handler
	srv  *http.Server
	addr string
	log  *slog.Logger
	life relay.StartStop
	ln   net.Listener
	wg   sync.WaitGroup
}

func newUIBridge(cfg Config, db relay.Store, feed *relay.Feed, clock relay.Clock, log *slog.Logger, probes []ui.Probe) (*uiBridge, error) {
	uc := cfg.Bridges.UI
	tlsConfig, err := loadTLS(uc.TLSCert, uc.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("bridges.ui.tls_cert: %w", err)
	}
	var auth ui.Authenticator
	if len(uc.Tokens) > 0 {
		var ts uiTokens
		for _, t := range uc.Tokens {
			ts = append(ts, struct {
				sum    [32]byte
				groups []string
			}{sha256.Sum256([]byte(t.Secret)), t.Groups})
		}
		auth = ts
	}
	h, err := ui.New(ui.Config{Store: db, Nodes: db, Feed: feed, Auth: auth, Clock: clock, Logger: log,
		Interval: time.Duration(uc.Interval), Probes: probes, Version: versionString()})
	if err != nil {
		return nil, fmt.Errorf("bridges.ui: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/ui/", h)
	mux.Handle("GET /{$}", http.RedirectHandler("/ui/", http.StatusFound))
	return &uiBridge{h: h, addr: uc.Listen, log: log, srv: &http.Server{Handler: mux, TLSConfig: tlsConfig,
		ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}}, nil
}

func (b *uiBridge) Start(ctx context.Context) error { return b.life.Start(ctx, b.start) }

func (b *uiBridge) start(ctx context.Context) (func(), error) {
	ln, err := net.Listen("tcp", b.addr)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	if err := b.h.Start(ctx); err != nil {
		ln.Close()
		return nil, err
	}
	b.ln = ln
	b.wg.Go(func() {
		var err error
		if b.srv.TLSConfig != nil {
			err = b.srv.ServeTLS(ln, "", "")
		} else {
			err = b.srv.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			b.log.Error("bridges.ui: serve", "err", err)
		}
	})
	b.log.Info("dashboard listening", "addr", ln.Addr().String())
	return func() {
		b.h.Stop() // ends the streams Shutdown would wait for
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = b.srv.Shutdown(sctx)
		b.wg.Wait()
	}, nil
}

// Quiesce does nothing: the dashboard takes no commands.
func (b *uiBridge) Quiesce() {}

func (b *uiBridge) Stop() { b.life.Stop() }

// ListenAddr is the bound address (after Start).
func (b *uiBridge) ListenAddr() net.Addr { return b.ln.Addr() }
