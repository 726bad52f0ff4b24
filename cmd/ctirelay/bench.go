package main

import (
	"cmp"
	"errors"

	"github.com/spf13/cobra"

	"github.com/ctirelay/ctirelay/internal/bench"
)

// newBenchCmd is ctirelay bench (internal/bench): the flags, then the bench.
func newBenchCmd(env *cli) *cobra.Command {
	c := bench.Defaults()
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "measure the relay end to end against the database's own floor",
		Long: `Measure the relay end to end on the database it is given, against the
database's own floor on the same machine. It creates and removes its own
tables; see docs/performance.md.`,
		Args: noArgs,
	}
	fs := cmd.Flags()
	fs.StringVar(&c.DSN, "db", "", "database: sqlite:PATH (the bench uses a throwaway file beside it) or postgres://… (a throwaway schema); env CTIRELAY_DB, default "+DefaultDSN)
	fs.Int64VarP(&c.N, "n", "n", c.N, "burn-down: commands preloaded in T_TTI before the relay starts")
	fs.StringVar(&c.Sweep, "sweep", "", "burn-down at several backlog sizes, e.g. 10000,100000,1000000")
	fs.IntVar(&c.Agents, "agents", c.Agents, "agents the commands are spread over (per-agent order limits parallelism: with 1 the work is serial by contract)")
	fs.Float64Var(&c.Rate, "rate", 0, "offer commands at this rate (per second) while the relay runs, and report latencies")
	fs.DurationVar(&c.Duration, "duration", 0, "how long to offer commands: at --rate (default 30s), or without --rate as fast as the relay takes them")
	fs.IntVar(&c.Batch, "batch", c.Batch, "intake and write batch of the relay; also the floor's batch")
	fs.IntVar(&c.MaxInFlight, "max-in-flight", 0, "commands at the switch at once (default: --agents)")
	fs.IntVar(&c.MaxInbox, "max-inbox", 0, "commands the relay takes into its inbox ahead of the switch (default: max-in-flight + 2 × batch; -1: no bound)")
	fs.DurationVar(&c.Poll, "poll", c.Poll, "the relay's fallback poll interval")
	fs.BoolVar(&c.Notify, "notify", c.Notify, "PostgreSQL: install the T_TTI notify trigger (off: the relay polls)")
	fs.StringVar(&c.Synchronous, "synchronous", c.Synchronous, "SQLite: PRAGMA synchronous")
	fs.BoolVar(&c.Floor, "floor", c.Floor, "measure the database's floor (pure SQL T_TTI→T_TTO) first")
	fs.Int64Var(&c.FloorRows, "floor-rows", c.FloorRows, "rows the floor moves, whatever -n is (a short floor is noise)")
	fs.BoolVar(&c.JSON, "json", false, "print the report as JSON")
	fs.BoolVar(&c.Keep, "keep", false, "keep the bench's tables (schema or file) after the run")
	fs.StringVar(&c.CPUProfile, "cpuprofile", "", "write a CPU profile of the relay's run to this file (go tool pprof): from its start to its last reply, with the ERP's inserts of a --rate or --duration run, without the floor and preload; a --sweep writes FILE.<backlog> per size")
	logLevel := fs.String("log-level", "warn", "relay log level on stderr: debug, info, warn or error")
	fs.DurationVar(&c.Stall, "stall", c.Stall, "give up when no command is answered for this long")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		tuneGC(env)
		c.DSN = cmp.Or(c.DSN, env.getenv("CTIRELAY_DB"), DefaultDSN)
		c.Log = newLogger(LogConfig{Level: *logLevel}, env.stderr)
		if c.Sweep != "" {
			// The sweep's sizes are the backlogs: refuse an -n beside
			// them rather than ignore it.
			if fs.Changed("n") {
				return usageError{errors.New("--sweep sets the backlog sizes: leave out -n")}
			}
			c.N = 0
		}
		if err := c.Check(); err != nil {
			return usageError{err}
		}
		return bench.Run(cmd.Context(), c, env.stdout, env.stderr)
	}
	return cmd
}
