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
	FloorRows   int64  // rows the floor moves, whatever the backlog: a short floor is noise
	JSON        bool   // print the report as JSON
	Keep        bool   // keep the bench's tables after the run
	CPUProfile  string // write a CPU profile of the relay's runs here (floor and preload left out)
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
		// The sweep's sizes are the backlogs: an -n beside them would be
		// silently ignored.
		if c.N != 0 {
			return errors.New("--sweep sets the backlog sizes: leave out -n")
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
		// The floor moves FloorRows whatever -n is: timed over a small
		// backlog it was a fraction of a second, mostly noise.
		rows := cfg.FloorRows
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
	if cfg.Agents == 1 {
		rep.Notes = append(rep.Notes, serialNote)
	}
	sizes := cfg.backlogs
	if cfg.mode != modeBurnDown {
		sizes = []int64{0}
	}
	for _, size := range sizes {
		prof := profilePath(cfg.CPUProfile, size, len(sizes))
		if prof != "" {
			rep.Profiles = append(rep.Profiles, prof)
		}
		r, err := runBench(ctx, cfg, size, prof, bar)
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

// serialNote is the report's warning for --agents 1.
const serialNote = "one agent: the relay runs an agent's commands one after another by contract (per-agent FIFO), " +
	"so these figures are one command's round trip, not what the relay does in parallel"

// profilePath is where the CPU profile of the run with this backlog goes:
// path itself for a single run, path.<backlog> for each run of a sweep.
func profilePath(path string, backlog int64, runs int) string {
	if path == "" || runs <= 1 {
		return path
	}
	return path + "." + strconv.FormatInt(backlog, 10)
}

// startProfile starts a CPU profile into path ("" none); the function it
// returns stops it.
func startProfile(path string) (func() error, error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() error {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		return nil
	}, nil
}
