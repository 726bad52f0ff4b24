package main

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/epbx"
	"github.com/ctirelay/ctirelay/relay/sim"
	"github.com/ctirelay/ctirelay/relay/tactium"
)

// newDriver builds the configured switch driver. locks is the store's: of
// the relays sharing it, only the holder of relay.LockMonitor listens to a
// Tactium switch's events. state is the store too (nil in tests): the EPBX
// driver keeps its agents' logons there for the relay that takes over, and
// journals the agents it logs on again by itself.
func newDriver(cfg Config, locks relay.Locker, state relay.Store, clock relay.Clock, log *slog.Logger) (relay.Driver, error) {
	switch cfg.Switch.Driver {
	case "sim":
		sw, err := sim.New(simConfig(cfg.Switch.Sim, clock, log))
		if err != nil {
			return nil, fmt.Errorf("switch.sim: %w", err)
		}
		return sim.NewDriver(sw), nil
	case "tactium":
		t := cfg.Switch.Tactium
		charset, err := relay.ParseCharset(t.Charset)
		if err != nil {
			return nil, fmt.Errorf("switch.tactium.charset: %w", err)
		}
		tc := tactium.Config{
			Addr: t.Address, AdminSecret: t.AdminSecret, Charset: charset,
			DialTimeout: time.Duration(t.DialTimeout), ReplyTimeout: time.Duration(t.ReplyTimeout),
			IdleClose: time.Duration(t.IdleClose), MaxFrameBytes: cfg.Engine.MaxFrameBytes,
			Clock: clock, Logger: log, // the driver adds switch=tactium itself
			// A standby relay asks four times a second (one cheap query):
			// events the switch sends before it takes over are lost.
			Monitor: relay.LockGate{Locker: locks, Name: relay.LockMonitor, Retry: 250 * time.Millisecond,
				Clock: clock, Logger: log.With("switch", "tactium")},
		}
		if t.TLS {
			tc.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		d, err := tactium.New(tc)
		if err != nil {
			return nil, fmt.Errorf("switch.tactium: %w", err)
		}
		return d, nil
	case "epbx":
		return newEPBXDriver(cfg.Switch.EPBX, state, clock, log)
	case "httpdial":
		d, err := cfg.Switch.HTTPDial.newDriver(log.With("switch", "httpdial"))
		if err != nil {
			return nil, fmt.Errorf("switch.httpdial: %w", err)
		}
		return d, nil
	}
	return nil, fmt.Errorf("switch.driver: %q is not available", cfg.Switch.Driver)
}

// activeGate is the engine's relay.EngineConfig.Active for drivers of which
// one relay at a time may run commands (EPBX: an agent's events come on the
// connection that runs its commands); nil for the others. A standby relay
// tries four times a second, so it takes over soon after the holder dies.
func activeGate(cfg Config, locks relay.Locker, clock relay.Clock, log *slog.Logger) relay.Gate {
	if cfg.Switch.Driver != "epbx" {
		return nil
	}
	return relay.LockGate{Locker: locks, Name: epbx.LockName, Retry: 250 * time.Millisecond,
		Clock: clock, Logger: log.With("switch", "epbx")}
}

func simConfig(c SimConfig, clock relay.Clock, log *slog.Logger) sim.Config {
	return sim.Config{
		Seed: c.Seed, InboundPerMinute: c.InboundPerMinute, DialerPerMinute: c.DialerPerMinute,
		RingTime: time.Duration(c.RingTime), TalkTime: time.Duration(c.TalkTime),
		WrapUp: time.Duration(c.WrapUp), ThinkTime: time.Duration(c.ThinkTime),
		Clock: clock, Logger: log.With("switch", "sim"),
	}
}
