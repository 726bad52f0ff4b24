package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ctirelay/ctirelay/bridges/tactiumserver"
	"github.com/ctirelay/ctirelay/bridges/tactiumserver/simbackend"
	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/sim"
	"github.com/ctirelay/ctirelay/relay/tactium"
)

// simOptions are sim's flags.
type simOptions struct {
	listen                   string
	seed                     int64
	inbound, dialer          float64
	ring, talk, wrap, think  time.Duration
	idle                     time.Duration
	charset, secret          string
	certFile, keyFile, level string
	maxConns                 int
	epbxAddr                 string
	epbxTTL, epbxKeepAlive   time.Duration
	epbxControls             bool
	ctd                      clickToDialOptions
}

func newSimCmd(env *cli) *cobra.Command {
	var o simOptions
	c := &cobra.Command{
		Use:   "sim",
		Short: "serve the simulated switch as a Tactium IP socket (--listen 127.0.0.1:34025)",
		Long: `Serve the simulated switch as a Tactium IP Integration socket (with --epbx
also as a Talk Telecom EPBX, with --clicktodial as a click-to-dial HTTP
platform reporting its calls to --notify), so an integration can be built and
tested with no PBX. It runs until SIGINT or SIGTERM.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return simCmd(cmd.Context(), env, &o) },
	}
	fs := c.Flags()
	fs.StringVar(&o.listen, "listen", "127.0.0.1:"+tactium.DefaultPort, "address of the Tactium IP socket")
	fs.Int64Var(&o.seed, "seed", 1, "random seed: the same seed and commands give the same calls")
	fs.Float64Var(&o.inbound, "inbound-per-minute", 0, "inbound calls per minute over the whole switch (0: none)")
	fs.Float64Var(&o.dialer, "dialer-per-minute", 0, "dialer calls per minute to available agents (0: no dialer)")
	fs.DurationVar(&o.ring, "ring-time", 0, "how long a dialled number rings before answering")
	fs.DurationVar(&o.talk, "talk-time", 0, "how long a call lasts before the customer hangs up (0: until D)")
	fs.DurationVar(&o.wrap, "wrap-up", 0, "wrap-up after a call (0: until P OFF or POS OFF)")
	fs.DurationVar(&o.think, "think-time", 0, "delay before each command is carried out, like a remote switch (0: at once)")
	fs.StringVar(&o.charset, "charset", "utf-8", "bytes on the wire: utf-8 or windows-1252")
	fs.StringVar(&o.secret, "admin-secret", "", "secret required to log on as ADMSOCKET: <ADMSOCKET><L><ON><secret>$ (env CTIRELAY_ADMIN_SECRET)")
	fs.StringVar(&o.certFile, "tls-cert", "", "TLS certificate (PEM); with --tls-key serves TLS")
	fs.StringVar(&o.keyFile, "tls-key", "", "TLS private key (PEM)")
	fs.IntVar(&o.maxConns, "max-conns", tactiumserver.DefaultMaxConns, "most connections at once")
	fs.DurationVar(&o.idle, "idle-timeout", 0, "close connections silent this long (0: never)")
	fs.StringVar(&o.epbxAddr, "epbx", "", "also serve the switch as a Talk Telecom EPBX (token endpoint and SignalR hub) on this address, e.g. 127.0.0.1:8090")
	fs.DurationVar(&o.epbxTTL, "epbx-token-ttl", 10*time.Minute, "lifetime of the EPBX access tokens issued")
	fs.DurationVar(&o.epbxKeepAlive, "epbx-keepalive", 10*time.Second, "SignalR keep-alive interval (the timeout is twice it, the disconnect timeout three times)")
	fs.BoolVar(&o.epbxControls, "epbx-controls", false, "serve test controls under /_fake/ (drop, forget, down, expire…); tests only")
	fs.StringVar(&o.level, "log-level", "info", "debug, info, warn or error")
	o.ctd.define(fs)
	return c
}

// simCmd serves the simulated switch as a Tactium IP Integration socket, so an
// integration can be built and tested with no PBX. It runs until ctx ends
// (SIGINT/SIGTERM).
func simCmd(ctx context.Context, env *cli, o *simOptions) error {
	tuneGC(env)
	cs, err := relay.ParseCharset(o.charset)
	if err != nil {
		return usageError{fmt.Errorf("--charset: %w", err)}
	}
	if o.secret == "" {
		o.secret = env.getenv("CTIRELAY_ADMIN_SECRET")
	}
	tlsConfig, err := loadTLS(o.certFile, o.keyFile)
	if err != nil {
		return err
	}
	if o.listen == "" && o.epbxAddr == "" && o.ctd.listen == "" {
		return usagef("--listen \"\" turns the Tactium socket off: give --epbx or --clicktodial, or there is nothing to serve")
	}
	log := newLogger(LogConfig{Level: o.level}, env.stderr)

	sw, err := sim.New(sim.Config{
		Seed: o.seed, InboundPerMinute: o.inbound, DialerPerMinute: o.dialer,
		RingTime: o.ring, TalkTime: o.talk, WrapUp: o.wrap, ThinkTime: o.think,
		Clock: relay.SystemClock{}, Logger: log.With("switch", "sim"),
	})
	if err != nil {
		return err
	}
	// --listen "" turns the socket off, as run's --socket-listen "" does
	// (the server would take "" for every interface, on any port).
	var srv *tactiumserver.Server
	if o.listen != "" {
		srv = &tactiumserver.Server{
			Addr: o.listen, Backend: simbackend.Backend{Switch: sw},
			Limits: tactiumserver.Limits{MaxConns: o.maxConns, IdleTimeout: o.idle},
			TLS:    tlsConfig, AdminSecret: o.secret, Charset: cs,
			Logger: log, Clock: relay.SystemClock{}, // the server names itself (server=tactium)
		}
		if err := srv.Start(ctx); err != nil {
			return err
		}
		defer srv.Stop()
		stopMirror := simbackend.MirrorEvents(sw, srv, sim.DefaultEventBuffer)
		defer stopMirror()
	}
	ctdAddr, stopCTD, err := o.ctd.start(context.WithoutCancel(ctx), env, sw, log)
	if err != nil {
		return err
	}
	defer stopCTD()
	if err := sw.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	defer sw.Stop()
	if o.epbxAddr != "" {
		ep, err := startSimEPBX(o.epbxAddr, sw, simEPBXOptions{TokenTTL: o.epbxTTL, KeepAlive: o.epbxKeepAlive, Controls: o.epbxControls}, log.With("server", "epbx"))
		if err != nil {
			return err
		}
		defer ep.stop()
		fmt.Fprintf(env.stdout, "ctirelay sim: EPBX on http://%s (token /oauth2/Token, SignalR /signalr, hub AtendimentoHub)\n", ep.addr())
	}
	if srv != nil {
		fmt.Fprintf(env.stdout, "ctirelay sim: Tactium IP socket on %s (charset %s, tls %v); Ctrl-C stops\n", srv.ListenAddr(), cs, tlsConfig != nil)
	} else {
		fmt.Fprintln(env.stdout, "ctirelay sim: no Tactium IP socket (--listen \"\"); Ctrl-C stops")
	}
	if ctdAddr != "" {
		fmt.Fprintf(env.stdout, "ctirelay sim: click-to-dial platform on http://%s/%s\n", ctdAddr, strings.TrimPrefix(o.ctd.path, "/"))
	}
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
		return nil, usagef("--tls-cert and --tls-key go together")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load tls key pair: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}
