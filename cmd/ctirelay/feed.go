package main

import (
	"log/slog"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// newFeed is the process's one relay.Feed on db: run wires it into the
// engine and the bridges; send and tail use their own.
func newFeed(db relay.Store, cfg Config, poll time.Duration, clock relay.Clock, log *slog.Logger) (*relay.Feed, error) {
	fc := relay.FeedConfig{Store: db, MaxFrame: cfg.Engine.MaxFrameBytes, Clock: clock, Logger: log, PollInterval: poll}
	// PostgreSQL: other relays' writes wake it across processes.
	if n, ok := db.(interface{ JournalWakeups() <-chan struct{} }); ok {
		fc.Wakeups = n.JournalWakeups()
	}
	return relay.NewFeed(fc)
}
