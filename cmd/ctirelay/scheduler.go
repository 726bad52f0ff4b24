package main

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// heldLocks is the store's Locker, remembering which named locks this
// process holds now, for relay_node.holds (status shows the leader).
type heldLocks struct {
	relay.Locker
	mu      sync.Mutex
	held    map[string]int
	changed chan struct{} // a value when held changed (buffered, one)
}

func newHeldLocks(l relay.Locker) *heldLocks {
	return &heldLocks{Locker: l, changed: make(chan struct{}, 1)}
}

func (h *heldLocks) signal() {
	select {
	case h.changed <- struct{}{}:
	default:
	}
}

func (h *heldLocks) TryLock(ctx context.Context, name string) (bool, <-chan struct{}, func(), error) {
	held, lost, release, err := h.Locker.TryLock(ctx, name)
	if !held || err != nil {
		return held, lost, release, err
	}
	h.mu.Lock()
	if h.held == nil {
		h.held = map[string]int{}
	}
	h.held[name]++
	h.mu.Unlock()
	h.signal()
	var once sync.Once
	gone := func() {
		once.Do(func() {
			h.mu.Lock()
			if h.held[name]--; h.held[name] <= 0 {
				delete(h.held, name)
			}
			h.mu.Unlock()
			h.signal()
		})
	}
	released := make(chan struct{})
	go func() {
		select {
		case <-lost:
			gone()
		case <-released:
		}
	}()
	var rOnce sync.Once
	return true, lost, func() {
		rOnce.Do(func() { close(released) })
		gone()
		release()
	}, nil
}

// Names lists the locks held, sorted.
func (h *heldLocks) Names() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	names := make([]string, 0, len(h.held))
	for n := range h.held {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// schedulerStore is the store with the process's lock tracking.
type schedulerStore struct {
	database
	locks relay.Locker
}

func (s schedulerStore) TryLock(ctx context.Context, name string) (bool, <-chan struct{}, func(), error) {
	return s.locks.TryLock(ctx, name)
}

// newScheduler builds the scheduler of `run` from the jobs section.
func newScheduler(cfg Config, db database, locks relay.Locker, owner string, clock relay.Clock, log *slog.Logger) (*relay.Scheduler, error) {
	jobs, err := cfg.scheduledJobs(db, clock, log)
	if err != nil {
		return nil, err
	}
	return relay.NewScheduler(relay.SchedulerConfig{
		Store: schedulerStore{database: db, locks: locks},
		Owner: owner, Jobs: jobs, Clock: clock, Logger: log,
		LockRetry: time.Duration(cfg.Scheduler.LockRetry), RunBeat: time.Duration(cfg.Scheduler.RunBeat),
		PruneNodesAfter: cfg.Scheduler.pruneNodesAfter(),
		Chores:          cfg.chores(db, clock, log),
	})
}
