package main

import (
	"log/slog"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"
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

// idleReturnEvery is how often run looks whether it has gone quiet holding
// memory a load spike left behind.
const idleReturnEvery = 15 * time.Second

// heapSample is what idle memory return decides on (runtime/metrics).
type heapSample struct {
	cycles     uint64 // GC cycles so far
	live       uint64 // heap live after the last cycle
	held, free uint64 // heap objects (garbage included) and free heap not yet returned
}

func readHeap() heapSample {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}, {Name: "/gc/heap/live:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/free:bytes"}}
	metrics.Read(s)
	return heapSample{cycles: s[0].Value.Uint64(), live: s[1].Value.Uint64(), held: s[2].Value.Uint64(), free: s[3].Value.Uint64()}
}

// quietAndBloated: no collection ran since the last look (the process is
// quiet: under load they run all the time) and the heap holds more than
// twice what is live plus 8 MiB. With GOGC 400 and little allocation the
// next collection may be minutes away, and the runtime keeps the memory
// until then.
func quietAndBloated(prev, cur heapSample) bool {
	return cur.cycles == prev.cycles && cur.held+cur.free > 2*cur.live+8<<20
}

// busyCycles is how many collections since the last return make a busy
// spell worth returning memory after, whatever the heap looks like now: an
// idle relay runs one every two minutes (the runtime's forced collection),
// a spike hundreds.
const busyCycles = 8

// idleReturnDue: quiet now (no collection since the last look) after a spike,
// seen as a bloated heap or as busyCycles collections since the last return
// (returned). The store's memory outside the Go heap (SQLite's connection)
// grows in a spike without showing in the heap's figures.
func idleReturnDue(prev, cur heapSample, returned uint64) bool {
	return cur.cycles == prev.cycles && (quietAndBloated(prev, cur) || cur.cycles-returned >= busyCycles)
}

// returnIdleMemory collects and returns the free memory to the system
// (debug.FreeOSMemory) once the process is quiet after a spike, checking
// every idleReturnEvery, until the function it returns is called: a flood's
// heap is back to the idle figure within about two intervals, while a busy
// relay keeps GOGC 400's throughput. db's own memory is released first when
// it has any to release.
func returnIdleMemory(db database) (stop func()) {
	release := db.ReleaseMemory
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(idleReturnEvery)
		defer t.Stop()
		prev := readHeap()
		returned := prev.cycles
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			cur := readHeap()
			if idleReturnDue(prev, cur, returned) {
				release()
				debug.FreeOSMemory()
				cur = readHeap()
				returned = cur.cycles
			}
			prev = cur
		}
	})
	return func() { close(done); wg.Wait() }
}
