package main

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/sim"
)

// newDriver builds the configured switch driver.
func newDriver(cfg Config, clock relay.Clock, log *slog.Logger) (relay.Driver, error) {
	switch cfg.Switch.Driver {
	case "sim":
		sw, err := sim.New(simConfig(cfg.Switch.Sim, clock, log))
		if err != nil {
			return nil, fmt.Errorf("switch.sim: %w", err)
		}
		return sim.NewDriver(sw), nil
	}
	return nil, fmt.Errorf("switch.driver: %q is not available", cfg.Switch.Driver)
}

func simConfig(c SimConfig, clock relay.Clock, log *slog.Logger) sim.Config {
	return sim.Config{
		Seed: c.Seed, InboundPerMinute: c.InboundPerMinute, DialerPerMinute: c.DialerPerMinute,
		RingTime: time.Duration(c.RingTime), TalkTime: time.Duration(c.TalkTime),
		WrapUp: time.Duration(c.WrapUp), ThinkTime: time.Duration(c.ThinkTime),
		Clock: clock, Logger: log.With("switch", "sim"),
	}
}
