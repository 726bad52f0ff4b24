package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/sim"
)

// Bench modes.
const (
	modeBurnDown = "burn-down" // drain a preloaded backlog
	modeRate     = "rate"      // a steady offered rate, for latency
	modeStream   = "stream"    // an ERP inserting as fast as the relay takes rows
)

// preloadChunk is the rows per INSERT when the bench fills T_TTI.
const preloadChunk = 2000

// runResult is one run's figures.
type runResult struct {
	Mode        string  `json:"mode"`
	Backlog     int64   `json:"backlog,omitempty"`      // burn-down: rows preloaded
	OfferedRate float64 `json:"offered_rate,omitempty"` // rate: commands/s offered
	Sent        int64   `json:"sent"`                   // rows the ERP inserted for the run
	Commands    int64   `json:"commands"`               // replies committed to T_TTO
	Seconds     float64 `json:"seconds"`
	PerSecond   float64 `json:"commands_per_s"`
	OfFloor     float64 `json:"fraction_of_floor,omitempty"`

	InsertToDispatch *latencySummary `json:"insert_to_dispatch,omitempty"`
	InsertToReply    *latencySummary `json:"insert_to_reply,omitempty"`

	// CPU from the relay's start to its last reply, µs a command: the bench
	// process (the relay, and the ERP's inserts in a rate or stream run) and
	// the database server where the bench can read it (a PostgreSQL cluster
	// on this machine; SQLite runs in the process).
	ProcessCPUPer  float64 `json:"process_cpu_us_per_command,omitempty"`
	DatabaseCPUPer float64 `json:"database_cpu_us_per_command,omitempty"`

	PeakRSS       int64   `json:"peak_rss_bytes,omitempty"`
	StatementsPer float64 `json:"statements_per_command"`
	TxPer         float64 `json:"transactions_per_command"`
	Retried       int64   `json:"retried"`

	Store          map[string]opSummary `json:"store"`            // intake, claim, settle
	LeasedBySettle int64                `json:"leased_by_settle"` // commands a settle leased, with no claim
	LeasedByIntake int64                `json:"leased_by_intake"` // commands an intake leased, with no claim
}

// rssPeak samples the resident set until stopped and keeps the largest.
type rssPeak struct {
	peak atomic.Int64
	stop chan struct{}
	wg   sync.WaitGroup
}

func sampleRSS() *rssPeak {
	r := &rssPeak{stop: make(chan struct{})}
	r.wg.Go(func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if b, ok := residentBytes(); ok && b > r.peak.Load() {
				r.peak.Store(b)
			}
			select {
			case <-r.stop:
				return
			case <-t.C:
			}
		}
	})
	return r
}

func (r *rssPeak) done() int64 {
	close(r.stop)
	r.wg.Wait()
	return r.peak.Load()
}

// runBench runs the relay in process on fresh tables: preloading (burn-down)
// or inserting while it runs (rate, stream), until every command inserted is
// answered.
// A CPU profile (prof, "" none) covers the relay from Start to Stop, with the
// ERP's inserts of a rate or stream run, which happen while it runs.
func runBench(ctx context.Context, cfg Config, backlog int64, prof string, bar *progressBar) (runResult, error) {
	res := runResult{Mode: cfg.mode}
	t, err := openTarget(ctx, cfg)
	if err != nil {
		return res, err
	}
	defer func() {
		if derr := t.Drop(); derr != nil {
			cfg.Log.Warn("bench: remove the run's tables", "where", t.Where, "err", derr)
		}
	}()
	w := newERPWriter(t.ERP, t.Names["tti"], cfg.Agents)
	probe := newBenchProbe(w.log)
	if cfg.mode == modeBurnDown {
		res.Backlog = backlog
		if err := w.preload(ctx, backlog, preloadChunk, func(done int64) { bar.show("preload", done, backlog) }); err != nil {
			return res, err
		}
	} else {
		probe.timed.Store(true)
	}

	sw, err := sim.New(sim.Config{Seed: 1, Logger: cfg.Log})
	if err != nil {
		return res, fmt.Errorf("bench switch: %w", err)
	}
	engine, err := relay.NewEngine(relay.EngineConfig{
		Node: "bench-" + randomSuffix(), Store: wrapStore(t.Store, probe),
		Driver: &probeDriver{Driver: sim.NewDriver(sw), p: probe, agents: cfg.Agents},
		Logger: cfg.Log, MaxInFlight: cfg.MaxInFlight, MaxInbox: cfg.MaxInbox, IntakeBatch: cfg.Batch, WriteBatch: cfg.Batch,
		PollInterval: cfg.Poll,
	})
	if err != nil {
		return res, err
	}
	stopProfile, err := startProfile(prof)
	if err != nil {
		return res, err
	}
	meter := newCPUMeter(ctx, t.dialect.Name, t.ERP)
	rss := sampleRSS()
	before := t.counter.snapshot()
	cpuBefore := meter.sample()
	start := time.Now()
	if err := engine.Start(ctx); err != nil {
		rss.done()
		_ = stopProfile()
		return res, err
	}
	sent, err := feed(ctx, cfg, w, probe, backlog, bar)
	if err == nil {
		res.Sent = sent
		err = drain(ctx, cfg, probe, sent, bar)
	}
	end := time.Unix(0, probe.lastDone.Load())
	cpuAfter := meter.sample()
	// The profile, like the CPU figures, ends before the relay's shutdown.
	perr := stopProfile()
	engine.Stop()
	res.PeakRSS = rss.done()
	if err == nil {
		err = perr
	}
	if err != nil {
		return res, err
	}
	after := t.counter.snapshot()
	if cfg.mode == modeBurnDown {
		res.Sent = backlog
	}
	res.Commands = probe.replied.Load()
	res.Retried = probe.retried.Load()
	res.Seconds = end.Sub(start).Seconds()
	if res.Seconds > 0 {
		res.PerSecond = float64(res.Commands) / res.Seconds
	}
	if res.Commands > 0 {
		res.StatementsPer = float64(after.Statements-before.Statements) / float64(res.Commands)
		res.TxPer = float64(after.Transactions-before.Transactions) / float64(res.Commands)
		res.ProcessCPUPer, res.DatabaseCPUPer = perCommand(cpuBefore, cpuAfter, res.Commands)
	}
	res.Store = map[string]opSummary{"intake": probe.ops.intake.summary(), "claim": probe.ops.claim.summary(), "settle": probe.ops.settle.summary()}
	res.LeasedBySettle = probe.ops.settleClaimed.Load()
	res.LeasedByIntake = probe.ops.intakeClaimed.Load()
	if probe.timed.Load() {
		d, r := probe.dispatch.summary(), probe.reply.summary()
		res.InsertToDispatch, res.InsertToReply = &d, &r
	}
	if n := probe.unknown.Load(); n > 0 {
		return res, fmt.Errorf("bench: %d replies to rows the bench did not insert", n)
	}
	// The simulated switch never fails, so nothing may be sent twice.
	if n := probe.twice.Load(); n > 0 {
		return res, fmt.Errorf("bench: %d commands reached the switch more than once", n)
	}
	if err := verifyOutbox(ctx, t, res.Sent); err != nil {
		return res, err
	}
	return res, nil
}

// feed inserts the run's rows while the relay runs and returns how many.
func feed(ctx context.Context, cfg Config, w *erpWriter, probe *benchProbe, backlog int64, bar *progressBar) (int64, error) {
	switch cfg.mode {
	case modeRate:
		fctx, cancel := context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
		began := time.Now()
		go tick(fctx, func() { bar.show("offer", int64(time.Since(began).Seconds()), int64(cfg.Duration.Seconds())) })
		return w.offer(fctx, cfg.Rate, 0, cfg.Batch)
	case modeStream:
		fctx, cancel := context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
		go tick(fctx, func() { bar.show("stream", probe.replied.Load(), probe.replied.Load()) })
		return w.saturate(fctx, int64(cfg.MaxInFlight+2*cfg.Batch), cfg.Batch, probe.replied.Load, probe.changed)
	}
	return backlog, nil
}

func tick(ctx context.Context, fn func()) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}

// drain waits until want commands are answered, failing when none is for
// cfg.Stall.
func drain(ctx context.Context, cfg Config, probe *benchProbe, want int64, bar *progressBar) error {
	last, lastAt := probe.replied.Load(), time.Now()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		n := probe.replied.Load()
		bar.show("relay", n, want)
		if n >= want {
			return nil
		}
		if n != last {
			last, lastAt = n, time.Now()
		} else if time.Since(lastAt) > cfg.Stall {
			return fmt.Errorf("bench: no reply for %s with %d of %d answered", cfg.Stall, n, want)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-probe.changed:
		case <-t.C:
		}
	}
}

// verifyOutbox checks the run left what it must: every row taken from
// T_TTI, the inbox empty, one reply per command in T_TTO.
func verifyOutbox(ctx context.Context, t *target, want int64) error {
	var tti, inbox, tto int64
	err := t.ERP.QueryRowContext(ctx, "SELECT (SELECT count(*) FROM "+t.Names["tti"]+"), (SELECT count(*) FROM "+
		t.Names["inbox"]+"), (SELECT count(*) FROM "+t.Names["tto"]+")").Scan(&tti, &inbox, &tto)
	if err != nil {
		return fmt.Errorf("bench: verify: %w", err)
	}
	if tti != 0 || inbox != 0 || tto != want {
		return errors.New("bench: verify: " + fmt.Sprintf("T_TTI has %d rows, inbox %d, T_TTO %d (want 0, 0, %d)", tti, inbox, tto, want))
	}
	return nil
}
