package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

// runOptions are run's flags.
type runOptions struct {
	common       commonFlags
	node         string
	socketListen string
	httpListen   string
}

func newRunCmd(env *cli) *cobra.Command {
	var o runOptions
	c := &cobra.Command{
		Use:   "run",
		Short: "run the relay (embedded default: SQLite + simulated switch)",
		Long: `Run the relay and its bridges until SIGINT or SIGTERM; a second signal exits at
once. The database is --db, else CTIRELAY_DB, else database.dsn of --config,
else sqlite:ctirelay.db.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runCmd(cmd.Context(), env, &o, cmd.Flags().Changed)
		},
	}
	fs := c.Flags()
	o.common.register(fs)
	fs.StringVar(&o.node, "node", "", "name of this relay in leases and relay_node (default host-pid-random)")
	fs.StringVar(&o.socketListen, "socket-listen", "", "address of the socket bridge, over bridges.socket.listen (\"\" disables it)")
	fs.StringVar(&o.httpListen, "http-listen", "", "address of the HTTP bridge, over bridges.http.listen (\"\" disables it)")
	return c
}

// runCmd runs the relay until SIGINT/SIGTERM; a second signal exits at once.
func runCmd(ctx context.Context, env *cli, o *runOptions, changed func(flag string) bool) error {
	tuneGC(env)
	cfg, err := o.common.load(env)
	if err != nil {
		return err
	}
	if changed("socket-listen") || changed("http-listen") {
		if changed("socket-listen") {
			cfg.Bridges.Socket.Listen = o.socketListen
		}
		if changed("http-listen") {
			cfg.Bridges.HTTP.Listen = o.httpListen
		}
		if err := cfg.Validate(); err != nil {
			return err
		}
	}
	log := newLogger(cfg.Log, env.stderr)
	limitMemory(env, cfg, log)
	node := o.node
	if node == "" {
		node = nodeName()
	}
	db, err := openDatabase(ctx, cfg, true, log)
	if err != nil {
		return err
	}
	// Stopped after the store closes: a release on the closed pool does nothing.
	defer returnIdleMemory(db)()
	// Once the relay has run, the bounded shutdown below stops what these
	// deferred calls stop when it fails to start.
	ran := false
	unlessRan := func(stop func()) func() {
		return func() {
			if !ran {
				stop()
			}
		}
	}
	defer unlessRan(func() { _ = db.Close() })()
	if err := prepareSchema(ctx, cfg, db, env); err != nil {
		return err
	}
	warnColumns(ctx, cfg, db, log)
	clock := relay.SystemClock{}
	// What this process holds of the named locks shows in relay_node.
	locks := newHeldLocks(db)
	driver, err := newDriver(cfg, locks, db, clock, log)
	if err != nil {
		return err
	}
	// A dialect may admit one relay per database (SQLite's file lock, which
	// run holds): any other relay with leases or a relay_node row is dead.
	sole := soleRelay(cfg.Database.DSN)
	// One feed per process: the engine wakes it after each commit, the
	// bridges enqueue and follow the journal through it.
	enginePoll, feedPoll := fallbackPolls(db, time.Duration(cfg.Engine.PollInterval), time.Duration(cfg.Bridges.Socket.PollInterval), log)
	feed, err := newFeed(db, cfg, feedPoll, clock, log)
	if err != nil {
		return err
	}
	e := cfg.Engine
	// Absolute, so the log names the file wherever the relay was started.
	spillDir, err := filepath.Abs(orDefault(e.SpillDir, "."))
	if err != nil {
		return fmt.Errorf("engine.spill_dir: %w", err)
	}
	engine, err := relay.NewEngine(relay.EngineConfig{
		Node: node, SoleRelay: sole, Store: db, Driver: driver, Clock: clock, Logger: log,
		MaxInFlight: e.MaxInFlight, IntakeBatch: e.IntakeBatch, MaxInbox: e.MaxInbox, WriteBatch: e.WriteBatch,
		PollInterval: enginePoll, Lease: time.Duration(e.Lease),
		ExecTimeout: time.Duration(e.ExecTimeout), MaxAttempts: e.MaxAttempts,
		Backoff: relay.Backoff{Base: time.Duration(e.BackoffBase), Max: time.Duration(e.BackoffMax)},
		InDoubt: relay.InDoubtPolicy(e.InDoubt), MaxFrame: e.MaxFrameBytes,
		ShutdownTimeout: time.Duration(e.ShutdownTimeout), ShutdownGrace: time.Duration(e.ShutdownGrace),
		SpillDir: spillDir, Committed: feed.Wake, Active: activeGate(cfg, db, clock, log),
	})
	if err != nil {
		return err
	}
	if err := feed.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	defer unlessRan(feed.Stop)()
	if err := engine.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	if sole {
		forgetDeadNodes(ctx, db, node, log)
	}
	// The scheduled jobs: every relay waits for the scheduler lock, the
	// one holding it runs them.
	sched, err := newScheduler(cfg, db, locks, engine.Owner(), clock, log)
	if err == nil {
		err = sched.Start(context.WithoutCancel(ctx))
	}
	if err != nil {
		engine.Stop()
		return err
	}
	defer unlessRan(sched.Stop)()
	// Listed in relay_node while the engine runs; the row goes once it and
	// the bridges have stopped (deferred calls run after the stops below).
	hb, err := relay.NewHeartbeat(relay.HeartbeatConfig{Registry: db, Node: thisNode(node, clock.Now()),
		Every: heartbeatEvery(cfg), Clock: clock, Logger: log, Holds: locks.Names, Refresh: locks.changed})
	if err == nil {
		err = hb.Start(context.WithoutCancel(ctx))
	}
	if err != nil {
		engine.Stop()
		return err
	}
	defer unlessRan(hb.Stop)()
	running, err := startBridges(context.WithoutCancel(ctx), cfg, db, feed, driver, engine.Stats, node, sole, clock, log)
	if err != nil {
		engine.Stop()
		return err
	}
	log.Info("ctirelay running", "db", store.Redact(cfg.Database.DSN), "switch", cfg.Switch.Driver, "node", node,
		"inbound", orDefault(cfg.Database.InboundTable, "T_TTI"), "outbound", orDefault(cfg.Database.OutboundTable, "T_TTO"),
		"socket", orDefault(cfg.Bridges.Socket.Listen, "off"), "file", orDefault(cfg.Bridges.File.TxDir, "off"),
		"http", orDefault(cfg.Bridges.HTTP.Listen, "off"))
	<-ctx.Done()
	ran = true
	log.Info("stopping: finishing commands at the switch (signal again to exit at once)", "exits_within", exitBound(cfg).String())
	go exitOnSecondSignal(env)
	// Bridges take no new commands; the engine finishes what it has; the
	// feed delivers what the engine wrote; then the bridges close.
	running.quiesce()
	// Bounded by the engine itself: shutdown_timeout + shutdown_grace + 1s,
	// whatever the database does; what it could not write is spilled.
	engine.Stop()
	// The rest talks to the database too (the feed's last deliveries and
	// positions, the relay_node row, closing the pool, which waits for calls
	// a database that stopped answering never ends): bounded as a whole.
	stopWithin(log, afterEngine,
		step{"stop the scheduled jobs", sched.Stop}, // a run in progress ends interrupted
		step{"stop the feed", feed.Stop},
		step{"stop the bridges", running.stop},
		step{"leave relay_node", hb.Stop},
		step{"close the database", func() { _ = db.Close() }})
	return nil
}

// afterEngine bounds what run does at shutdown once the engine has stopped:
// the feed may take relay.DefaultFeedDrain (5s) to deliver what the engine
// wrote, then the bridges close.
const afterEngine = 8 * time.Second

// exitBound is how long after SIGTERM run exits at the latest (the local
// write of a spill file aside).
func exitBound(cfg Config) time.Duration {
	timeout, grace := time.Duration(cfg.Engine.ShutdownTimeout), time.Duration(cfg.Engine.ShutdownGrace)
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	if grace <= 0 {
		grace = relay.DefaultShutdownGrace
	}
	return timeout + grace + time.Second + afterEngine
}

// step is one shutdown step of run.
type step struct {
	name string
	fn   func()
}

// stopWithin runs steps in order within budget. A step still running when
// it is spent is left behind with the ones after it: the process is exiting.
func stopWithin(log *slog.Logger, budget time.Duration, steps ...step) {
	deadline := time.After(budget)
	for _, s := range steps {
		done := make(chan struct{})
		go func() { defer close(done); s.fn() }()
		select {
		case <-done:
		case <-deadline:
			log.Error("shutdown: exiting before this step finished", "step", s.name, "budget", budget.String())
			return
		}
	}
}

// warnColumns logs what in the ERP's tables would make the database refuse
// a message: such a reply or event is dead-lettered, not retried.
func warnColumns(ctx context.Context, cfg Config, db database, log *slog.Logger) {
	warnings, err := columnWarnings(ctx, cfg, db)
	if err != nil {
		log.Warn("could not read the column types of the ERP's tables", "err", err)
	}
	for _, w := range warnings {
		log.Warn("the ERP's table may refuse messages; those are dead-lettered", "problem", w)
	}
}

func exitOnSecondSignal(env *cli) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	fmt.Fprintln(env.stderr, "ctirelay: second signal, exiting now; leases held will expire and be reclaimed")
	os.Exit(130)
}

// prepareSchema applies migrations when database.migrate is auto; otherwise
// it refuses to run on a schema a DBA has not migrated yet.
func prepareSchema(ctx context.Context, cfg Config, db database, env *cli) error {
	if cfg.Database.Migrate == "auto" {
		if _, err := db.Migrate(ctx); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
	} else {
		pending, err := db.Pending(ctx)
		if err != nil {
			return fmt.Errorf("read applied migrations: %w", err)
		}
		if len(pending) > 0 {
			return errors.New("the schema has pending migrations and database.migrate is off: review them with 'ctirelay migrate --print', then run 'ctirelay migrate'")
		}
	}
	return configureDatabase(ctx, cfg, db)
}

// configureDatabase applies the dialect settings that are not migrations.
func configureDatabase(ctx context.Context, cfg Config, db database) error {
	if err := db.SetNotifyTrigger(ctx, cfg.Database.NotifyTrigger); err != nil {
		return fmt.Errorf("database.notify_trigger: %w", err)
	}
	return nil
}

func nodeName() string {
	host, _ := os.Hostname()
	var b [3]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// wakePoll and feedWakePoll are the least fallback polls of a store whose
// wake-ups follow every commit at once (SQLite's watcher on inotify): then
// the polls only cover a missed wake-up, and an idle relay that polls every
// 100 ms spends 1.3–1.5% of a core on them. Counted, the watcher misses next
// to nothing (0–2 of 300–1,500 intakes that took rows in a 10 s run at 200
// or 1,000/s, the sqlite store's log line at Close), so the poll does not
// set the p99 (docs/performance.md, SQLite wakes at once). The journal feed's
// can be a second: the engine's writer and the watcher wake it. The
// engine's stays at 250 ms: its writer also re-checks the event fence on
// it (relay/dispatch.go), and at 1 s the switch's events reached the feed so
// late that a Divalto poller missed the ring (TestE2ECRMBridge, 2 of 8 runs).
const (
	wakePoll     = 250 * time.Millisecond
	feedWakePoll = time.Second
)

// fallbackPolls raises the engine's poll interval to wakePoll and the
// feed's to feedWakePoll where the store says its wake-ups come at once;
// elsewhere (no inotify, another system, a network file system) they stay
// as configured.
func fallbackPolls(db relay.Store, engine, feed time.Duration, log *slog.Logger) (time.Duration, time.Duration) {
	if !db.WakesAtOnce() {
		return engine, feed
	}
	if engine > 0 && engine < wakePoll || feed > 0 && feed < feedWakePoll {
		log.Debug("the store wakes the relay at once: fallback polls lengthened", "engine", wakePoll, "feed", feedWakePoll)
	}
	return longer(engine, wakePoll), longer(feed, feedWakePoll)
}

// longer is d raised to least.
func longer(d, least time.Duration) time.Duration { return max(d, least) }
