package relay

import (
	"context"
	"errors"
	"sync"
	"time"
)

// abandonAfter is how long past the shutdown deadline Stop still waits for
// a database call that ignores its context's end (a driver blocked reading
// from a server that stopped answering) before it goes on without it.
const abandonAfter = time.Second

// errShutdownDeadline ends the contexts of database calls at the deadline.
var errShutdownDeadline = errors.New("shutdown deadline passed")

// DefaultShutdownGrace is EngineConfig.ShutdownGrace when not set.
const DefaultShutdownGrace = 5 * time.Second

// clockContext returns a context that ends when clock reaches at (the
// injected clock, so tests move it by hand).
func clockContext(clock Clock, at time.Time) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(context.Background())
	go func() {
		select {
		case <-clock.After(at.Sub(clock.Now())):
			cancel(errShutdownDeadline)
		case <-ctx.Done():
		}
	}()
	return ctx, func() { cancel(context.Canceled) }
}

// waitDone returns a channel closed once wg's count is zero.
func waitDone(wg *sync.WaitGroup) <-chan struct{} {
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	return ch
}

// armWriteDeadline ends the writer's context at at and gives up waiting for
// the database abandonAfter later (e.hard). It returns when the timers are
// set, and its goroutine ends with finished.
func (e *Engine) armWriteDeadline(at time.Time, finished <-chan struct{}) {
	soft := e.cfg.Clock.After(at.Sub(e.cfg.Clock.Now()))
	go func() {
		select {
		case <-soft:
			e.endWrites(errShutdownDeadline)
		case <-finished:
			return
		}
		select {
		case <-e.cfg.Clock.After(abandonAfter):
			close(e.hard)
		case <-finished:
		}
	}()
}

// writerCall holds the arguments and results of the writer's database call
// on the caller goroutine: fields set by the writer before the call, read
// by it after, never while a call it abandoned may still run (it makes no
// call after that). Kept in the engine so a call allocates nothing.
type writerCall struct {
	ctx      context.Context
	outcomes []Outcome
	events   []Frame
	first    bool
	n        int
	more     bool
	err      error
}

func (e *Engine) settleCall() {
	c := &e.wc
	c.n, c.more, c.err = e.settle(c.ctx, c.outcomes, c.first)
}

func (e *Engine) publishCall() {
	c := &e.wc
	c.err = e.cfg.Store.Publish(c.ctx, c.events, e.cfg.Clock.Now())
}

// caller runs the writer's database calls. They run here, not on the writer,
// so that the writer can stop waiting for one that never returns and still
// drain what the commands and the driver queue (into the spill).
func (e *Engine) caller() {
	for fn := range e.calls {
		fn()
		e.callDone <- struct{}{} // buffered: never blocks an abandoned call
	}
}

// do runs fn on the caller goroutine and waits for it. It reports false when
// it stopped waiting: the shutdown deadline and abandonAfter have passed and
// fn has not returned. fn then still runs, and the writer must not touch
// e.wc or what it points to.
func (e *Engine) do(fn func()) bool {
	select {
	case e.calls <- fn:
	case <-e.hard:
		return false
	}
	select {
	case <-e.callDone:
		return true
	case <-e.hard:
		select {
		case <-e.callDone:
			return true
		default:
			return false
		}
	}
}

// pause waits d on the clock, or until ctx ends: false then.
func (e *Engine) pause(ctx context.Context, d time.Duration) bool {
	select {
	case <-e.cfg.Clock.After(d):
		return true
	case <-ctx.Done():
		return false
	}
}

// seal stops commands from starting: loops Stop gave up waiting for may
// still return leased commands from the database; they stay leased and are
// reclaimed when the lease expires.
func (e *Engine) seal() {
	e.sealMu.Lock()
	e.sealed = true
	e.sealMu.Unlock()
}

// frames returns a copy of the events the fence holds, in arrival order.
func (fc *eventFence) frames() []Frame {
	out := make([]Frame, 0, len(fc.held))
	for _, h := range fc.held {
		out = append(out, h.f)
	}
	return out
}

// take empties the fence for the spill, without release's log line: these
// events are not published.
func (fc *eventFence) take() []Frame {
	out := fc.frames()
	fc.held = nil
	return out
}

// holdForSpill keeps an event that came as the driver closed, while the
// spill is still to be written. It reports false once it has been.
func (e *Engine) holdForSpill(f Frame) bool {
	e.overMu.Lock()
	defer e.overMu.Unlock()
	if e.spillDone {
		return false
	}
	e.overflow = append(e.overflow, f)
	return true
}

// unsettledAtShutdown records outcomes the writer could not settle before
// the deadline. Their commands stay leased (Stop does not release them):
// at the next start of this node, or when the lease expires, they are
// reclaimed like a dead relay's: idempotent ones run again, the others are
// answered ERR IN_DOUBT. Never released, so no dial runs twice.
func (e *Engine) unsettledAtShutdown(outcomes []Outcome) {
	e.unsettled += len(outcomes)
	e.stats.unsettled.Add(int64(len(outcomes)))
	e.inFlight.Add(-int64(len(outcomes)))
	for _, o := range outcomes {
		replies := make([]string, len(o.Replies))
		for i, f := range o.Replies {
			replies[i] = f.String()
		}
		e.log.Error("answer not recorded before shutdown: the command stays leased and is reclaimed when its lease expires",
			"inbox_id", o.Job.ID, "agent", o.Job.Agent, "verb", o.Job.Verb, "replies", replies)
	}
}

// release hands back the leases still held, unless an answer could not be
// recorded (its command must be reclaimed, not run again as if untouched).
// It may use the second past the writer's deadline (a writer that kept
// retrying a refused publish to the end leaves it no other time); a call
// still running then is abandoned.
func (e *Engine) release() {
	if e.unsettled > 0 || e.keepLeases {
		e.log.Warn("leases kept at shutdown: answers were not recorded; the commands are reclaimed as a dead relay's", "unsettled", e.unsettled)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- e.cfg.Store.Release(ctx, e.owner) }()
	var err error
	select {
	case err = <-errc:
	case <-e.hard:
		cancel()
		select {
		case err = <-errc:
		default:
			err = errors.New("the database did not answer")
		}
	}
	if err != nil {
		e.log.Error("release leases at shutdown: they are reclaimed when they expire", "err", err)
	}
}
