// Package bench is ctirelay bench: it measures the relay end to end on the
// database it is given, against the database's own floor on the same
// machine, on tables of its own that it creates and removes (see
// docs/performance.md). What differs by dialect (the throwaway tables, the
// floor's SQL) comes from the dialect's registration (store.Dialect.Bench);
// the relay's statements are counted through store.Options.WrapConnector.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"
)

// Config is one invocation of ctirelay bench; the command's flags fill it,
// starting from Defaults.
type Config struct {
	DSN         string  // the database; the bench uses tables of its own beside the configured ones
	N           int64   // burn-down: commands preloaded in T_TTI before the relay starts
	Sweep       string  // burn-down at several backlog sizes: "10000,100000"
	Agents      int     // agents the commands are spread over
	Rate        float64 // offer commands at this rate (per second) and report latencies
	Duration    time.Duration
	Batch       int // intake and write batch of the relay; also the floor's
	MaxInFlight int // commands at the switch at once (0: Agents)
	MaxInbox    int // commands taken into the inbox ahead of the switch (0: the relay's default, -1: no bound)
	Poll        time.Duration
	Notify      bool   // PostgreSQL: install the T_TTI notify trigger
	Synchronous string // SQLite: PRAGMA synchronous
	Floor       bool   // measure the database's floor first
	FloorRows   int64
	JSON        bool   // print the report as JSON
	Keep        bool   // keep the bench's tables after the run
	CPUProfile  string // write a CPU profile of the relay runs here
	Stall       time.Duration
	Log         *slog.Logger // the relay's log

	mode     string
	backlogs []int64 // burn-down: one run per size
}

// Defaults are the settings of a plain `ctirelay bench` (its flags'
// defaults): a 100,000-command burn-down over 1000 agents after the floor.
func Defaults() Config {
	return Config{
		N: 100000, Agents: 1000, Batch: 1000, Poll: 100 * time.Millisecond, Notify: true,
		Synchronous: "FULL", Floor: true, FloorRows: 200000, Stall: time.Minute,
	}
}

// Check picks the mode from the settings and validates them; Run calls it.
func (c *Config) Check() error {
	switch {
	case c.Rate < 0:
		return errors.New("--rate must not be negative")
	case c.Rate > 0:
		c.mode = modeRate
		if c.Duration <= 0 {
			c.Duration = 30 * time.Second
		}
	case c.Duration > 0:
		c.mode = modeStream
	default:
		c.mode = modeBurnDown
	}
	c.backlogs = nil
	if c.Sweep != "" {
		if c.mode != modeBurnDown {
			return errors.New("--sweep is a burn-down: leave out --rate and --duration")
		}
		for _, f := range strings.Split(c.Sweep, ",") {
			v, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
			if err != nil || v <= 0 {
				return fmt.Errorf("--sweep: %q is not a positive number of commands", f)
			}
			c.backlogs = append(c.backlogs, v)
		}
	} else {
		if c.N <= 0 {
			return errors.New("-n must be positive")
		}
		c.backlogs = []int64{c.N}
	}
	if c.Agents <= 0 || c.Agents > 99999 {
		return errors.New("--agents must be between 1 and 99999")
	}
	if c.Batch <= 0 {
		return errors.New("--batch must be positive")
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = c.Agents
	}
	if c.MaxInbox < -1 {
		return errors.New("--max-inbox must be -1 (no bound), 0 (the relay's default) or a number of commands")
	}
	if c.FloorRows <= 0 {
		c.Floor = false
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Run measures and prints the report on stdout, a progress bar on stderr
// when it is a terminal.
func Run(ctx context.Context, cfg Config, stdout, stderr io.Writer) error {
	if err := cfg.Check(); err != nil {
		return err
	}
	if cfg.CPUProfile != "" {
		f, err := os.Create(cfg.CPUProfile)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	bar := newProgressBar(stderr)
	defer bar.clear()
	rep, err := measure(ctx, cfg, bar)
	bar.clear()
	if err != nil {
		return err
	}
	if cfg.JSON {
		return rep.writeJSON(stdout)
	}
	rep.writeText(stdout)
	return nil
}

// measure measures the floor, then runs the relay once per backlog size
// (or once for a rate or stream run). cfg has been checked.
func measure(ctx context.Context, cfg Config, bar *progressBar) (*Report, error) {
	d, _, err := lookup(cfg.DSN)
	if err != nil {
		return nil, err
	}
	rep := &Report{
		Database: d.Name, Agents: cfg.Agents, Batch: cfg.Batch, MaxInFlight: cfg.MaxInFlight,
		Poll: cfg.Poll.String(), CPUs: runtime.NumCPU(), LoadAverage: loadAverage(), Started: time.Now().UTC().Format(time.RFC3339),
	}
	if cfg.Floor && cfg.mode != modeRate {
		rows := cfg.FloorRows
		if cfg.mode == modeBurnDown {
			rows = min(rows, maxOf(cfg.backlogs))
		}
		t, err := openTarget(ctx, cfg)
		if err != nil {
			return nil, err
		}
		f, err := measureFloor(ctx, t, rows, cfg.Batch, cfg.Agents, func(label string, done, total int64) { bar.show(label, done, total) })
		if derr := t.Drop(); derr != nil {
			cfg.Log.Warn("bench: remove the floor's tables", "where", t.Where, "err", derr)
		}
		if err != nil {
			return nil, err
		}
		rep.Floor = &f
	}
	sizes := cfg.backlogs
	if cfg.mode != modeBurnDown {
		sizes = []int64{0}
	}
	for _, size := range sizes {
		r, err := runBench(ctx, cfg, size, bar)
		if err != nil {
			return nil, err
		}
		if cfg.mode == modeRate {
			r.OfferedRate = cfg.Rate
		}
		if rep.Floor != nil && rep.Floor.RowsPerSec > 0 {
			r.OfFloor = r.PerSecond / rep.Floor.RowsPerSec
		}
		rep.Runs = append(rep.Runs, r)
	}
	return rep, nil
}

func maxOf(v []int64) int64 {
	var m int64
	for _, x := range v {
		m = max(m, x)
	}
	return m
}
