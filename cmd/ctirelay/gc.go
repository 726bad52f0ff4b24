package main

import "runtime/debug"

// relayGCPercent is the garbage collector's target for the long-running
// subcommands unless GOGC is set. The relay holds little live memory (tens
// of megabytes whatever the backlog), so Go's default of 100 collected many
// times a second at full speed; 400 cut the relay's CPU per command by a
// quarter in `ctirelay bench` for about 10 MB more resident memory.
const relayGCPercent = 400

// tuneGC applies relayGCPercent, leaving an operator's GOGC alone.
func tuneGC(env *cli) {
	if env.getenv("GOGC") == "" {
		debug.SetGCPercent(relayGCPercent)
	}
}
