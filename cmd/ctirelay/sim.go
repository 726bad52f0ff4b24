package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"time"

	"github.com/ctirelay/ctirelay/bridges/tactiumserver"
	"github.com/ctirelay/ctirelay/bridges/tactiumserver/simbackend"
	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/sim"
	"github.com/ctirelay/ctirelay/relay/tactium"
)

// simCmd serves the simulated switch as a Tactium IP Integration socket, so an
// integration can be built and tested with no PBX. It runs until ctx ends
// (SIGINT/SIGTERM).
func simCmd(ctx context.Context, env *cli, args []string) error {
	fs := newFlags(env, "sim", "")
	listen := fs.String("listen", "127.0.0.1:"+tactium.DefaultPort, "address of the Tactium IP socket")
	seed := fs.Int64("seed", 1, "random seed: the same seed and commands give the same calls")
	inbound := fs.Float64("inbound-per-minute", 0, "inbound calls per minute over the whole switch (0: none)")
	dialer := fs.Float64("dialer-per-minute", 0, "dialer calls per minute to available agents (0: no dialer)")
	ring := fs.Duration("ring-time", 0, "how long a dialled number rings before answering")
	talk := fs.Duration("talk-time", 0, "how long a call lasts before the customer hangs up (0: until D)")
	wrap := fs.Duration("wrap-up", 0, "wrap-up after a call (0: until P OFF or POS OFF)")
	think := fs.Duration("think-time", 0, "delay before each command is carried out, like a remote switch (0: at once)")
	charset := fs.String("charset", "utf-8", "bytes on the wire: utf-8 or windows-1252")
	secret := fs.String("admin-secret", "", "secret required to log on as ADMSOCKET: <ADMSOCKET><L><ON><secret>$ (env CTIRELAY_ADMIN_SECRET)")
	certFile := fs.String("tls-cert", "", "TLS certificate (PEM); with --tls-key serves TLS")
	keyFile := fs.String("tls-key", "", "TLS private key (PEM)")
	maxConns := fs.Int("max-conns", tactiumserver.DefaultMaxConns, "most connections at once")
	idle := fs.Duration("idle-timeout", 0, "close connections silent this long (0: never)")
	epbxAddr := fs.String("epbx", "", "also serve the switch as a Talk Telecom EPBX (token endpoint and SignalR hub) on this address, e.g. 127.0.0.1:8090")
	epbxTTL := fs.Duration("epbx-token-ttl", 10*time.Minute, "lifetime of the EPBX access tokens issued")
	epbxKeepAlive := fs.Duration("epbx-keepalive", 10*time.Second, "SignalR keep-alive interval (the timeout is twice it, the disconnect timeout three times)")
	epbxControls := fs.Bool("epbx-controls", false, "serve test controls under /_fake/ (drop, forget, down, expire…); tests only")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	tuneGC(env)
	if fs.NArg() > 0 {
		fmt.Fprintf(env.stderr, "ctirelay sim: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	cs, err := relay.ParseCharset(*charset)
	if err != nil {
		return err
	}
	if *secret == "" {
		*secret = env.getenv("CTIRELAY_ADMIN_SECRET")
	}
	tlsConfig, err := loadTLS(*certFile, *keyFile)
	if err != nil {
		return err
	}
	log := newLogger(LogConfig{Level: *level}, env.stderr)

	sw, err := sim.New(sim.Config{
		Seed: *seed, InboundPerMinute: *inbound, DialerPerMinute: *dialer,
		RingTime: *ring, TalkTime: *talk, WrapUp: *wrap, ThinkTime: *think,
		Clock: relay.SystemClock{}, Logger: log.With("switch", "sim"),
	})
	if err != nil {
		return err
	}
	srv := &tactiumserver.Server{
		Addr: *listen, Backend: simbackend.Backend{Switch: sw},
		Limits: tactiumserver.Limits{MaxConns: *maxConns, IdleTimeout: *idle},
		TLS:    tlsConfig, AdminSecret: *secret, Charset: cs,
		Logger: log.With("server", "tactium"), Clock: relay.SystemClock{},
	}
	if err := srv.Start(ctx); err != nil {
		return err
	}
	defer srv.Stop()
	stopMirror := simbackend.MirrorEvents(sw, srv, sim.DefaultEventBuffer)
	defer stopMirror()
	if err := sw.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	defer sw.Stop()
	if *epbxAddr != "" {
		ep, err := startSimEPBX(*epbxAddr, sw, simEPBXOptions{TokenTTL: *epbxTTL, KeepAlive: *epbxKeepAlive, Controls: *epbxControls}, log.With("server", "epbx"))
		if err != nil {
			return err
		}
		defer ep.stop()
		fmt.Fprintf(env.stdout, "ctirelay sim: EPBX on http://%s (token /oauth2/Token, SignalR /signalr, hub AtendimentoHub)\n", ep.addr())
	}
	fmt.Fprintf(env.stdout, "ctirelay sim: Tactium IP socket on %s (charset %s, tls %v); Ctrl-C stops\n", srv.ListenAddr(), cs, tlsConfig != nil)
	<-ctx.Done()
	log.Info("simulated switch stopping")
	return nil
}

// loadTLS reads a certificate and key; neither means plain TCP.
func loadTLS(certFile, keyFile string) (*tls.Config, error) {
	if certFile == "" && keyFile == "" {
		return nil, nil
	}
	if certFile == "" || keyFile == "" {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load tls key pair: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}
