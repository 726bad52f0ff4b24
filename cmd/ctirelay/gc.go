package main

import (
	"log/slog"
	"runtime/debug"
)

// relayGCPercent is the garbage collector's target for the long-running
// subcommands unless GOGC is set. The relay holds little live memory (tens
// of megabytes whatever the backlog), so Go's default of 100 collected many
// times a second at full speed; 400 cut the relay's CPU per command by a
// quarter in `ctirelay bench` for about 10 MB more resident memory.
const relayGCPercent = 400

// DefaultMemoryLimit is run's soft memory limit unless memory_limit or
// GOMEMLIMIT says otherwise. A GC target alone lets the heap grow to five
// times what is live (GOGC 400) and keep it: a flood of clients once left a
// relay at 787 MB. Under the limit the collector runs as often as needed to
// stay below it and the runtime returns the freed memory to the system; the
// relay's own bounds (the socket bridge's buffer budget, the feed's queue,
// engine.max_inbox) keep what is live well under it.
const DefaultMemoryLimit = 512 << 20

// tuneGC applies relayGCPercent, leaving an operator's GOGC alone.
func tuneGC(env *cli) {
	if env.getenv("GOGC") == "" {
		debug.SetGCPercent(relayGCPercent)
	}
}

// limitMemory sets the soft memory limit from the configuration
// (DefaultMemoryLimit when 0) unless GOMEMLIMIT is set, which the runtime
// has applied already and which wins. It returns the limit in force.
func limitMemory(env *cli, cfg Config, log *slog.Logger) int64 {
	if env.getenv("GOMEMLIMIT") != "" {
		limit := debug.SetMemoryLimit(-1) // reads it
		log.Info("memory limit from GOMEMLIMIT", "bytes", limit)
		return limit
	}
	limit := int64(cfg.MemoryLimit)
	if limit <= 0 {
		limit = DefaultMemoryLimit
	}
	debug.SetMemoryLimit(limit)
	return limit
}
