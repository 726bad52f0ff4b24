package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// SchedulerStore is what the scheduler needs of the store: the leader's
// lock, the run history, and relay_node for pruning dead relays.
type SchedulerStore interface {
	Locker
	JobRuns
	Housekeeping
}

// SchedulerConfig wires a Scheduler. Zero values take the defaults shown.
type SchedulerConfig struct {
	Store  SchedulerStore
	Owner  string // this relay's lease owner, NODE#INCARNATION
	Jobs   []ScheduledJob
	Clock  Clock
	Logger *slog.Logger
	// LockRetry is how often a follower tries the leader's lock (1s): the
	// most a takeover waits after the leader's session died.
	LockRetry time.Duration
	// RunBeat is Runner.Beat (DefaultRunBeat).
	RunBeat time.Duration
	// OnTime is how late a slot may be and still run under CatchUpSkip
	// (1m): a leader that took over a few seconds after a slot runs it.
	OnTime time.Duration
	// PruneNodesAfter, above zero, has the leader remove the relay_node
	// rows of relays with no heartbeat for that long, every minute.
	PruneNodesAfter time.Duration
	// Chores are done by the leader beside the jobs, each every Every:
	// no run row, no slot (the T_TTO marks retention's expiry ages rows by).
	Chores []Chore
	// MaxMissed bounds the missed slots recorded for one job at a leader's
	// start (100): a job every second down for a week does not write
	// 600,000 rows; the earlier ones are only logged as a count.
	MaxMissed int
	// Waiting, for tests, is called each time the leader waits, once its
	// timer is set, with the time it will look again and how many of its
	// runs are in progress.
	Waiting func(wake time.Time, running int)
}

// Chore is small periodic work of the leader's: it runs at once when a
// relay starts leading, then every Every (a minute when zero). A failure
// is logged and tried again at the next time.
type Chore struct {
	Name  string
	Every time.Duration
	Run   func(ctx context.Context, now time.Time) error
}

// Scheduler runs the scheduled jobs once per cluster: every relay runs one,
// and the one holding LockScheduler (a session advisory lock on PostgreSQL,
// the file's only relay on SQLite) leads. The leader runs each job's slots
// as they come, each under a relay_job_run row inserted before it starts
// (unique per job and slot, so a leader change never runs a slot twice) and
// never two runs of one job at once. A leader that loses its lock stops
// its runs at once (their context ends) and goes back to waiting for it.
type Scheduler struct {
	cfg    SchedulerConfig
	run    Runner
	log    *slog.Logger
	life   StartStop
	leader atomic.Bool
}

// NewScheduler validates the configuration.
func NewScheduler(cfg SchedulerConfig) (*Scheduler, error) {
	if cfg.Store == nil {
		return nil, errors.New("scheduler needs a store")
	}
	if cfg.Owner == "" {
		return nil, errors.New("scheduler needs an owner")
	}
	seen := map[string]bool{}
	for _, j := range cfg.Jobs {
		if j.Name == "" || j.Run == nil || seen[j.Name] {
			return nil, fmt.Errorf("scheduler: job %q needs a unique name and a function", j.Name)
		}
		seen[j.Name] = true
		switch j.CatchUp {
		case "", CatchUpSkip, CatchUpOnce:
		default:
			return nil, fmt.Errorf("scheduler: job %s: catch_up %q", j.Name, j.CatchUp)
		}
	}
	for _, c := range cfg.Chores {
		if c.Name == "" || c.Run == nil {
			return nil, fmt.Errorf("scheduler: chore %q needs a name and a function", c.Name)
		}
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.LockRetry <= 0 {
		cfg.LockRetry = time.Second
	}
	if cfg.OnTime <= 0 {
		cfg.OnTime = time.Minute
	}
	if cfg.MaxMissed <= 0 {
		cfg.MaxMissed = 100
	}
	log := cfg.Logger.With("component", "scheduler")
	return &Scheduler{cfg: cfg, log: log,
		run: Runner{Store: cfg.Store, Owner: cfg.Owner, Clock: cfg.Clock, Logger: log, Beat: cfg.RunBeat}}, nil
}

// Start starts waiting for leadership (StartStop's contract).
func (s *Scheduler) Start(ctx context.Context) error {
	return s.life.Start(ctx, func(context.Context) (func(), error) {
		loopCtx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); s.loop(loopCtx) }()
		return func() { cancel(); <-done }, nil
	})
}

// Stop ends the runs in progress (RunInterrupted), gives the lock back and
// returns once everything has stopped. Safe twice.
func (s *Scheduler) Stop() { s.life.Stop() }

// Stopped is closed once the scheduler has stopped.
func (s *Scheduler) Stopped() <-chan struct{} { return s.life.Stopped() }

// Leader reports whether this relay leads now.
func (s *Scheduler) Leader() bool { return s.leader.Load() }

// Holds is what the scheduler holds, for relay_node.holds.
func (s *Scheduler) Holds() []string {
	if s.Leader() {
		return []string{LockScheduler}
	}
	return nil
}

func (s *Scheduler) loop(ctx context.Context) {
	gate := LockGate{Locker: s.cfg.Store, Name: LockScheduler, Retry: s.cfg.LockRetry, Clock: s.cfg.Clock, Logger: s.log}
	for {
		lost, release, err := gate.Acquire(ctx)
		if err != nil {
			return // stopped
		}
		s.leader.Store(true)
		s.log.Info("leading: running the scheduled jobs", "owner", s.cfg.Owner)
		lctx, cancel := context.WithCancel(ctx)
		go func() {
			select {
			case <-lost:
				s.log.Warn("leadership lost: the lock's database session ended; stopping the jobs")
				cancel()
			case <-lctx.Done():
			}
		}()
		s.lead(lctx)
		cancel()
		s.leader.Store(false)
		release()
		if ctx.Err() != nil {
			return
		}
	}
}

// jobState is the leader's view of one job.
type jobState struct {
	job     ScheduledJob
	loaded  bool
	last    time.Time // the latest slot handled (run, missed, or the start)
	running bool
	retry   time.Time // after a failed store call, not before
}

// lead runs the jobs' slots until ctx ends, then waits for the runs it
// started (their context is ctx: they stop at once).
func (s *Scheduler) lead(ctx context.Context) {
	var states []*jobState
	for _, j := range s.cfg.Jobs {
		if j.Enabled {
			states = append(states, &jobState{job: j})
		}
	}
	finished := make(chan *jobState, len(states)) // one run per job at a time
	var wg sync.WaitGroup
	defer wg.Wait()
	nextPrune := time.Time{}
	nextChore := make([]time.Time, len(s.cfg.Chores))
	for {
		now := s.cfg.Clock.Now()
		wake := now.Add(time.Minute) // look at least every minute (a clock that jumped)
		for _, st := range states {
			if now.Before(st.retry) {
				wake = earliest(wake, st.retry)
				continue
			}
			if err := s.step(ctx, st, now, &wg, finished); err != nil {
				if ctx.Err() != nil {
					return
				}
				s.log.Warn("scheduled job: will try again", "job", st.job.Name, "err", err)
				st.retry = now.Add(s.cfg.LockRetry)
				wake = earliest(wake, st.retry)
				continue
			}
			if next := st.job.Schedule.Next(st.last); !next.IsZero() {
				wake = earliest(wake, next)
			}
		}
		if s.cfg.PruneNodesAfter > 0 {
			if !now.Before(nextPrune) {
				s.pruneNodes(ctx, now)
				nextPrune = now.Add(time.Minute)
			}
			wake = earliest(wake, nextPrune)
		}
		for i, c := range s.cfg.Chores {
			if !now.Before(nextChore[i]) {
				if err := c.Run(ctx, now); err != nil && ctx.Err() == nil {
					s.log.Warn("leader's chore failed: will try again", "chore", c.Name, "err", err)
				}
				every := c.Every
				if every <= 0 {
					every = time.Minute
				}
				nextChore[i] = now.Add(every)
			}
			wake = earliest(wake, nextChore[i])
		}
		timer := s.cfg.Clock.After(wake.Sub(now))
		if s.cfg.Waiting != nil {
			n := 0
			for _, st := range states {
				if st.running {
					n++
				}
			}
			s.cfg.Waiting(wake, n)
		}
		select {
		case <-ctx.Done():
			return
		case st := <-finished:
			st.running = false
		case <-timer:
		}
	}
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// step handles the slots of st that are due at now.
func (s *Scheduler) step(ctx context.Context, st *jobState, now time.Time, wg *sync.WaitGroup, finished chan<- *jobState) error {
	name := st.job.Name
	if !st.loaded {
		last, err := s.cfg.Store.LastSlot(ctx, name)
		if err != nil {
			return fmt.Errorf("read last slot: %w", err)
		}
		if last.IsZero() {
			last = now // a new job starts at its next slot, no backfill
		}
		st.last, st.loaded = last, true
	}
	due, elided := s.dueSlots(st.job.Schedule, st.last, now)
	if len(due) == 0 {
		return nil
	}
	if elided > 0 {
		s.log.Warn("missed slots not recorded one by one", "job", name, "count", elided, "before", due[0])
	}
	latest := due[len(due)-1]
	for _, slot := range due[:len(due)-1] {
		if err := s.run.Miss(ctx, name, slot, "no leader ran it"); err != nil {
			return fmt.Errorf("record missed slot: %w", err)
		}
		s.log.Warn("slot missed", "job", name, "slot", slot)
	}
	miss := func(reason string) error {
		if err := s.run.Miss(ctx, name, latest, reason); err != nil {
			return fmt.Errorf("record missed slot: %w", err)
		}
		s.log.Warn("slot missed", "job", name, "slot", latest, "reason", reason)
		st.last = latest
		return nil
	}
	switch {
	case st.running:
		return miss("the previous run was still running")
	case st.job.CatchUp != CatchUpOnce && now.Sub(latest) > s.cfg.OnTime:
		return miss("no leader ran it (catch_up skip)")
	}
	run, err := s.run.Begin(ctx, name, latest, false)
	switch {
	case errors.Is(err, ErrSlotTaken):
		s.log.Debug("slot already recorded by another leader", "job", name, "slot", latest)
		st.last = latest
		return nil
	case errors.Is(err, ErrJobRunning):
		return miss("a run of the job was still running elsewhere")
	case err != nil:
		return fmt.Errorf("begin run: %w", err)
	}
	st.last, st.running = latest, true
	info := RunInfo{Job: name, Slot: latest, Location: st.job.Schedule.Location()}
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.run.Execute(ctx, run, st.job.Run, info)
		finished <- st
	}()
	return nil
}

// dueSlots lists the slots after last up to now, at most MaxMissed+1 of
// them (the latest), and how many earlier ones it left out.
func (s *Scheduler) dueSlots(sched Schedule, last, now time.Time) ([]time.Time, int) {
	var due []time.Time
	elided := 0
	for next := sched.Next(last); !next.IsZero() && !next.After(now); next = sched.Next(next) {
		due = append(due, next)
		if len(due) > s.cfg.MaxMissed+1 {
			due = due[1:]
			elided++
		}
	}
	return due, elided
}

func (s *Scheduler) pruneNodes(ctx context.Context, now time.Time) {
	gone, err := s.cfg.Store.PruneNodes(ctx, now.Add(-s.cfg.PruneNodesAfter))
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("prune relay_node", "err", err)
		}
		return
	}
	for _, id := range gone {
		s.log.Info("removed the row of a dead relay from relay_node", "node", id, "silent_for_more_than", s.cfg.PruneNodesAfter)
	}
}
