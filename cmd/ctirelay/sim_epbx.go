package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/ctirelay/ctirelay/relay/epbx/epbxfake"
	"github.com/ctirelay/ctirelay/relay/epbx/epbxsim"
	"github.com/ctirelay/ctirelay/relay/sim"
)

// simEPBX is the simulated switch served as a Talk Telecom EPBX: the OAuth
// token endpoint and the AtendimentoHub over SignalR 2 (docs/epbx.md).
type simEPBX struct {
	ln   net.Listener
	srv  *http.Server
	fake *epbxfake.Server
	hub  *epbxsim.Hub
	done chan struct{}
}

type simEPBXOptions struct {
	TokenTTL  time.Duration
	KeepAlive time.Duration
	Controls  bool
}

// startSimEPBX listens on addr and serves sw as an EPBX until stop.
func startSimEPBX(addr string, sw *sim.Switch, o simEPBXOptions, log *slog.Logger) (*simEPBX, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("epbx listen: %w", err)
	}
	hub := epbxsim.New(sw)
	fake := epbxfake.New(epbxfake.Config{Hub: hub, TokenTTL: o.TokenTTL, KeepAlive: o.KeepAlive, Controls: o.Controls, Logger: log})
	s := &simEPBX{ln: ln, fake: fake, hub: hub, done: make(chan struct{}),
		srv: &http.Server{Handler: fake.Handler(), ReadHeaderTimeout: 10 * time.Second}}
	hub.Start()
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("epbx server", "err", err)
		}
	}()
	return s, nil
}

func (s *simEPBX) addr() string { return s.ln.Addr().String() }

func (s *simEPBX) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.fake.Close() // closes the hijacked WebSockets, which Shutdown leaves
	_ = s.srv.Shutdown(ctx)
	<-s.done
	s.hub.Stop()
}
