package main

import (
	"log/slog"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// newFeed is the process's one relay.Feed on db: run wires it into the
// engine and the bridges; send and tail use their own.
func newFeed(db relay.Store, cfg Config, poll time.Duration, clock relay.Clock, log *slog.Logger) (*relay.Feed, error) {
	// Other relays' writes wake it across processes where the store can.
	return relay.NewFeed(relay.FeedConfig{Store: db, MaxFrame: cfg.Engine.MaxFrameBytes, Clock: clock, Logger: log,
		PollInterval: poll, Wakeups: db.JournalWakeups()})
}
