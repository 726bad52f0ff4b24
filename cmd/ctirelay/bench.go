package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"
)

// benchCmd measures the relay end to end on the database it is given,
// against the database's own floor on the same machine. It creates and
// removes its own tables; see docs/performance.md.
func benchCmd(ctx context.Context, env *cli, args []string) error {
	fs := newFlags(env, "bench", "")
	dsn := fs.String("db", "", "database: sqlite:PATH (the bench uses a throwaway file beside it) or postgres://… (a throwaway schema); env CTIRELAY_DB, default sqlite:ctirelay.db")
	n := fs.Int64("n", 100000, "burn-down: commands preloaded in T_TTI before the relay starts")
	sweep := fs.String("sweep", "", "burn-down at several backlog sizes, e.g. 10000,100000,1000000")
	agents := fs.Int("agents", 1000, "agents the commands are spread over (per-agent order limits parallelism)")
	rate := fs.Float64("rate", 0, "offer commands at this rate (per second) while the relay runs, and report latencies")
	duration := fs.Duration("duration", 0, "how long to offer commands: at --rate (default 30s), or without --rate as fast as the relay takes them")
	batch := fs.Int("batch", 1000, "intake and write batch of the relay; also the floor's batch")
	inFlight := fs.Int("max-in-flight", 0, "commands at the switch at once (default: --agents)")
	maxInbox := fs.Int("max-inbox", 0, "commands the relay takes into its inbox ahead of the switch (default: max-in-flight + 2 × batch; -1: no bound)")
	poll := fs.Duration("poll", 100*time.Millisecond, "the relay's fallback poll interval")
	notify := fs.Bool("notify", true, "PostgreSQL: install the T_TTI notify trigger (off: the relay polls)")
	synchronous := fs.String("synchronous", "FULL", "SQLite: PRAGMA synchronous")
	floor := fs.Bool("floor", true, "measure the database's floor (pure SQL T_TTI→T_TTO) first")
	floorRows := fs.Int64("floor-rows", 200000, "rows the floor moves (at most the backlog)")
	jsonOut := fs.Bool("json", false, "print the report as JSON")
	keep := fs.Bool("keep", false, "keep the bench's tables (schema or file) after the run")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the relay runs to this file (go tool pprof)")
	logLevel := fs.String("log-level", "warn", "relay log level on stderr: debug, info, warn or error")
	stall := fs.Duration("stall", time.Minute, "give up when no command is answered for this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	tuneGC(env)
	if fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	if *dsn == "" {
		*dsn = env.getenv("CTIRELAY_DB")
	}
	if *dsn == "" {
		*dsn = DefaultDSN
	}
	cfg := benchConfig{
		db:     benchDBSpec{dsn: *dsn, synchronous: *synchronous, notify: *notify, keep: *keep},
		agents: *agents, rate: *rate, duration: *duration, batch: *batch, maxInFlight: *inFlight, maxInbox: *maxInbox,
		poll: *poll, floor: *floor, floorRows: *floorRows, stall: *stall,
		log: newLogger(LogConfig{Level: *logLevel}, env.stderr),
	}
	if err := cfg.resolve(*n, *sweep); err != nil {
		fmt.Fprintf(env.stderr, "ctirelay bench: %v\n", err)
		return errUsage
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	bar := newProgressBar(env.stderr)
	defer bar.clear()
	rep, err := runReport(ctx, cfg, bar)
	bar.clear()
	if err != nil {
		return err
	}
	if *jsonOut {
		return rep.writeJSON(env.stdout)
	}
	rep.writeText(env.stdout)
	return nil
}

// resolve picks the mode from the flags and checks them.
func (c *benchConfig) resolve(n int64, sweep string) error {
	switch {
	case c.rate < 0:
		return errors.New("--rate must not be negative")
	case c.rate > 0:
		c.mode = modeRate
		if c.duration <= 0 {
			c.duration = 30 * time.Second
		}
	case c.duration > 0:
		c.mode = modeStream
	default:
		c.mode = modeBurnDown
	}
	if sweep != "" {
		if c.mode != modeBurnDown {
			return errors.New("--sweep is a burn-down: leave out --rate and --duration")
		}
		for _, f := range strings.Split(sweep, ",") {
			v, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
			if err != nil || v <= 0 {
				return fmt.Errorf("--sweep: %q is not a positive number of commands", f)
			}
			c.backlogs = append(c.backlogs, v)
		}
	} else {
		if n <= 0 {
			return errors.New("-n must be positive")
		}
		c.backlogs = []int64{n}
	}
	if c.agents <= 0 || c.agents > 99999 {
		return errors.New("--agents must be between 1 and 99999")
	}
	if c.batch <= 0 {
		return errors.New("--batch must be positive")
	}
	if c.maxInFlight <= 0 {
		c.maxInFlight = c.agents
	}
	if c.maxInbox < -1 {
		return errors.New("--max-inbox must be -1 (no bound), 0 (the relay's default) or a number of commands")
	}
	if c.floorRows <= 0 {
		c.floor = false
	}
	return nil
}

// runReport measures the floor, then runs the relay once per backlog size
// (or once for a rate or stream run).
func runReport(ctx context.Context, cfg benchConfig, bar *progressBar) (*benchReport, error) {
	dialect, _, err := parseDSN(cfg.db.dsn)
	if err != nil {
		return nil, fmt.Errorf("--db: %w", err)
	}
	rep := &benchReport{
		Database: dialect, Agents: cfg.agents, Batch: cfg.batch, MaxInFlight: cfg.maxInFlight,
		Poll: cfg.poll.String(), CPUs: runtime.NumCPU(), LoadAverage: loadAverage(), Started: time.Now().UTC().Format(time.RFC3339),
	}
	if cfg.floor && cfg.mode != modeRate {
		rows := cfg.floorRows
		if cfg.mode == modeBurnDown {
			rows = min(rows, maxOf(cfg.backlogs))
		}
		t, err := openBenchTarget(ctx, cfg.db, cfg.log)
		if err != nil {
			return nil, err
		}
		f, err := measureFloor(ctx, t, rows, cfg.batch, cfg.agents, func(label string, done, total int64) { bar.show(label, done, total) })
		if derr := t.drop(); derr != nil {
			cfg.log.Warn("bench: remove the floor's tables", "where", t.where, "err", derr)
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
			r.OfferedRate = cfg.rate
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
