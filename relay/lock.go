package relay

import (
	"context"
	"log/slog"
	"time"
)

// Names of the cluster-wide singletons the relay takes with a Locker.
const (
	// LockMonitor is held by the one relay that listens to a switch's
	// events: every relay that heard them would journal each one again.
	LockMonitor = "monitor"
	// LockScheduler is held by the leader: the one relay that runs the
	// scheduled jobs (see Scheduler).
	LockScheduler = "scheduler"
)

// Locker grants cluster-wide named singletons: among every relay sharing a
// store, at most one holds a given name at a time. Scheduled jobs, a file
// spool's single writer and a switch's event stream use it.
type Locker interface {
	// TryLock takes the named lock if nobody holds it, without waiting.
	// held is false when another holder has it (err nil). When held, lost
	// is closed if the lock is lost without Release (the database
	// connection that holds it died: the holder must stop acting as one at
	// once) and release gives it back; release is safe to call twice.
	TryLock(ctx context.Context, name string) (held bool, lost <-chan struct{}, release func(), err error)
}

// Gate admits one holder at a time. Acquire blocks until the caller holds it
// or ctx ends; lost and release are as for Locker.TryLock.
type Gate interface {
	Acquire(ctx context.Context) (lost <-chan struct{}, release func(), err error)
}

// LockGate is a Gate over a named Locker lock, tried again every Retry
// while another relay holds it: when that relay dies its lock goes with its
// connection, and this one takes over within Retry.
type LockGate struct {
	Locker Locker
	Name   string
	Retry  time.Duration // 1s when zero
	Clock  Clock         // SystemClock when nil
	Logger *slog.Logger  // discards when nil
}

// Acquire waits for the lock.
func (g LockGate) Acquire(ctx context.Context) (<-chan struct{}, func(), error) {
	retry, clock, log := g.Retry, g.Clock, g.Logger
	if retry <= 0 {
		retry = time.Second
	}
	if clock == nil {
		clock = SystemClock{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	waiting, failing := false, false
	for {
		held, lost, release, err := g.Locker.TryLock(ctx, g.Name)
		switch {
		case err != nil && ctx.Err() != nil:
			return nil, nil, ctx.Err()
		case err != nil:
			if !failing { // once per outage, not at every try
				log.Warn("take lock: will keep trying", "lock", g.Name, "err", err)
			}
			failing = true
		case held:
			log.Info("lock taken", "lock", g.Name)
			return lost, release, nil
		case !waiting:
			waiting, failing = true, false
			log.Info("lock held by another relay, waiting", "lock", g.Name)
		default:
			failing = false
		}
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-clock.After(retry):
		}
	}
}

// OpenGate is a Gate always granted: the only relay of its switch.
type OpenGate struct{}

// Acquire returns at once with a lock that is never lost.
func (OpenGate) Acquire(ctx context.Context) (<-chan struct{}, func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	return nil, func() {}, nil
}
