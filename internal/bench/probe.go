package bench

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// benchProbe sees the relay from the outside: the driver wrapper times each
// command reaching the switch, the store wrapper times each reply committed
// to T_TTO, both against the ERP's insert time of the row (its IS_TTI is in
// the frame and in the job's source reference).
type benchProbe struct {
	inserts  *insertLog
	dispatch latencyHist // T_TTI insert → Execute at the switch
	reply    latencyHist // T_TTI insert → Settle committed
	timed    atomic.Bool // record latencies (off for a preloaded burn-down)

	replied  atomic.Int64 // commands settled Done or Dead
	retried  atomic.Int64
	unknown  atomic.Int64 // replies to rows the bench did not write (must stay 0)
	seen     seqSet       // commands that reached the switch
	twice    atomic.Int64 // commands that reached it again (must stay 0: no failures here)
	lastDone atomic.Int64 // unix nanos of the last reply
	changed  chan struct{}

	// What the relay asked of the store, to show where the time goes.
	ops struct {
		intake, claim, settle opStats
		settleClaimed         atomic.Int64 // commands leased by settles
		intakeClaimed         atomic.Int64 // commands leased by intakes
	}
}

// opStats accumulates one store method's calls.
type opStats struct {
	calls, rows, nanos atomic.Int64
}

func (o *opStats) add(rows int, since time.Time) {
	o.calls.Add(1)
	o.rows.Add(int64(rows))
	o.nanos.Add(int64(time.Since(since)))
}

// opSummary is one store method's share of a run.
type opSummary struct {
	Calls      int64   `json:"calls"`
	RowsPer    float64 `json:"rows_per_call"`
	MillisPer  float64 `json:"ms_per_call"`
	BusySecond float64 `json:"busy_s"` // summed over concurrent calls
}

func (o *opStats) summary() opSummary {
	c := o.calls.Load()
	if c == 0 {
		return opSummary{}
	}
	ns := o.nanos.Load()
	return opSummary{Calls: c, RowsPer: float64(o.rows.Load()) / float64(c),
		MillisPer: float64(ns) / float64(c) / 1e6, BusySecond: float64(ns) / 1e9}
}

func newBenchProbe(inserts *insertLog) *benchProbe {
	return &benchProbe{inserts: inserts, changed: make(chan struct{}, 1)}
}

func (p *benchProbe) notify() {
	select {
	case p.changed <- struct{}{}:
	default:
	}
}

// probeDriver times commands as they reach the switch.
type probeDriver struct {
	relay.Driver
	p      *benchProbe
	agents int
}

// Open opens the switch and logs every agent of the run on, so the run's
// commands are answered OK.
func (d *probeDriver) Open(ctx context.Context, sink relay.EventSink) error {
	if err := d.Driver.Open(ctx, sink); err != nil {
		return err
	}
	for k := range d.agents {
		cmd, err := relay.ParseCommand(relay.NewFrame(benchAgent(k), "L", "ON"))
		if err == nil {
			_, err = d.Driver.Execute(ctx, cmd)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (d *probeDriver) Execute(ctx context.Context, cmd relay.Command) ([]relay.Frame, error) {
	now := time.Now()
	if seq, err := strconv.ParseInt(cmd.Arg(1), 10, 64); err == nil {
		if d.p.seen.add(seq) {
			d.p.twice.Add(1)
		}
		if d.p.timed.Load() {
			if at, ok := d.p.inserts.lookup(seq); ok {
				d.p.dispatch.record(now.Sub(at))
			}
		}
	}
	return d.Driver.Execute(ctx, cmd)
}

// seqSet is a growing bitmap of command numbers: a million commands cost
// 125 kB.
type seqSet struct {
	mu   sync.Mutex
	bits []uint64
}

// add marks seq and reports whether it was marked already.
func (s *seqSet) add(seq int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := int(seq / 64)
	if w >= len(s.bits) {
		s.bits = append(s.bits, make([]uint64, w+1-len(s.bits)+len(s.bits)/2)...)
	}
	bit := uint64(1) << (seq % 64)
	had := s.bits[w]&bit != 0
	s.bits[w] |= bit
	return had
}

// probeStore counts intake and times settled replies.
type probeStore struct {
	relay.Store
	p *benchProbe
}

func wrapStore(s relay.Store, p *benchProbe) relay.Store {
	return &probeStore{Store: s, p: p}
}

func (s *probeStore) Intake(ctx context.Context, req relay.IntakeRequest, claim relay.ClaimRequest) (int, []relay.Job, error) {
	began := time.Now()
	n, jobs, err := s.Store.Intake(ctx, req, claim)
	s.p.ops.intake.add(n, began)
	s.p.ops.intakeClaimed.Add(int64(len(jobs)))
	if n > 0 {
		s.p.notify()
	}
	return n, jobs, err
}

func (s *probeStore) Claim(ctx context.Context, req relay.ClaimRequest) ([]relay.Job, error) {
	began := time.Now()
	jobs, err := s.Store.Claim(ctx, req)
	s.p.ops.claim.add(len(jobs), began)
	return jobs, err
}

// Settle counts what the settle leased with the claims.
func (s *probeStore) Settle(ctx context.Context, outcomes []relay.Outcome, now time.Time, claim relay.ClaimRequest) (int, []relay.Job, error) {
	began := time.Now()
	n, jobs, err := s.Store.Settle(ctx, outcomes, now, claim)
	s.p.ops.settle.add(len(outcomes), began)
	if err != nil {
		return n, nil, err
	}
	s.p.ops.settleClaimed.Add(int64(len(jobs)))
	s.p.settled(outcomes)
	return n, jobs, nil
}

// settled records outcomes just committed.
func (p *benchProbe) settled(outcomes []relay.Outcome) {
	done := time.Now()
	timed := p.timed.Load()
	var replied int64
	for _, o := range outcomes {
		if o.Kind == relay.Retry {
			p.retried.Add(1)
			continue
		}
		replied++
		seq, err := strconv.ParseInt(o.Job.Ref, 10, 64)
		if err != nil || o.Job.Source != relay.SourceERP {
			p.unknown.Add(1)
			continue
		}
		if timed {
			if at, ok := p.inserts.lookup(seq); ok {
				p.reply.record(done.Sub(at))
			}
		}
	}
	p.lastDone.Store(done.UnixNano())
	p.replied.Add(replied)
	p.notify()
}
