package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// dispatch counts claimed commands in flight and starts them.
func (e *Engine) dispatch(ctx context.Context, jobs []Job) {
	e.inFlight.Add(int64(len(jobs)))
	e.start(ctx, jobs)
}

// start hands each command, already counted in flight, to a worker. The
// claim already guarantees a single command per agent, so order per agent
// holds.
func (e *Engine) start(ctx context.Context, jobs []Job) {
	e.sealMu.RLock()
	if e.sealed {
		e.sealMu.RUnlock()
		e.inFlight.Add(-int64(len(jobs)))
		for _, j := range jobs {
			e.log.Warn("leased as the relay stopped: not started", "inbox_id", j.ID, "agent", j.Agent, "verb", j.Verb)
		}
		return
	}
	e.running.Add(len(jobs))
	e.sealMu.RUnlock()
	for _, j := range jobs {
		e.workers.submit(work{ctx: ctx, job: j})
	}
}

// work is one command for a worker.
type work struct {
	ctx context.Context
	job Job
}

// run executes one command and queues its outcome, then the events its
// agent sent meanwhile. A command cut off by shutdown before it reached the
// switch has no outcome: it stays leased, and Stop releases it untouched.
func (e *Engine) run(w work) {
	defer e.running.Done()
	j := w.job
	e.order.begin(j.Agent)
	o, sent := e.execute(w.ctx, j)
	e.order.end(j.Agent, func(held []Frame) {
		if sent {
			e.output <- output{outcome: &o}
		} else {
			e.log.Info("relay stopping: command not sent, released for later", "inbox_id", j.ID, "agent", j.Agent, "verb", j.Verb)
			e.inFlight.Add(-1)
		}
		for _, f := range held {
			e.output <- output{event: f}
		}
	})
}

// notSent reports whether the driver says the command did not reach the
// switch: a transient failure that does not say the switch may have acted.
func notSent(err error) bool {
	var t *TransientError
	return errors.As(err, &t) && !errors.Is(err, ErrInDoubt)
}

// execute runs one command at the switch and classifies what happened. It
// reports false, with no outcome, for a command cut off by shutdown that
// provably did not reach the switch: never handed to the driver, or failed
// with the driver's "not sent".
func (e *Engine) execute(ctx context.Context, j Job) (Outcome, bool) {
	if o, ok := RefusedOutcome(j); ok {
		// Refused at admission and queued only to keep its agent's order:
		// answered now, never sent.
		return o, true
	}
	f, err := Parse(j.Frame)
	var cmd Command
	if err == nil {
		cmd, err = ParseCommand(f)
	}
	if err != nil {
		// Admitted at intake, so only a changed grammar gets here.
		p := AsProtocolError(err)
		return Outcome{Job: j, Kind: Dead, Reason: p.Code + ": " + p.Message, Replies: []Frame{ErrReply(j.Agent, p.Code, p.Message)}}, true
	}
	if !e.cfg.Driver.Supports(cmd.Verb) {
		msg := fmt.Sprintf("the switch cannot do %s", cmd.Verb)
		return Outcome{Job: j, Kind: Dead, Reason: CodeUnsupported + ": " + msg, Replies: []Frame{ErrReply(j.Agent, CodeUnsupported, msg)}}, true
	}
	if ctx.Err() != nil {
		// Leased while the relay was stopping and cut off before its turn.
		return Outcome{}, false
	}
	// Operators and the crash tests read this line to see what reached the
	// switch. Guarded: building its arguments allocates even when disabled.
	if e.log.Enabled(ctx, slog.LevelDebug) {
		e.log.Debug("dispatch", "inbox_id", j.ID, "agent", j.Agent, "verb", string(j.Verb), "attempt", j.Attempts)
	}
	execCtx, cancel := context.WithTimeout(ctx, e.cfg.ExecTimeout)
	replies, err := e.cfg.Driver.Execute(execCtx, cmd)
	cancel()
	now := e.cfg.Clock.Now()
	switch {
	case err == nil:
		if len(replies) == 0 {
			replies = []Frame{OK(j.Agent)}
		}
		return Outcome{Job: j, Kind: Done, Replies: replies}, true
	case ctx.Err() != nil && notSent(err):
		return Outcome{}, false
	case ctx.Err() != nil:
		// Cut off by shutdown: we cannot know whether the switch acted.
		return e.abandoned(j, now, "relay stopped"), true
	case IsTransient(err) || errors.Is(err, ErrInDoubt) || errors.Is(err, context.DeadlineExceeded):
		// A deadline the driver classified as "not sent" (waiting to
		// connect, say) did not reach the switch either.
		maybeActed := errors.Is(err, ErrInDoubt) || (errors.Is(err, context.DeadlineExceeded) && !notSent(err))
		if maybeActed && !cmd.Verb.Idempotent() && e.cfg.InDoubt == InDoubtDead {
			return e.inDoubt(j, "no answer from the switch ("+err.Error()+")"), true
		}
		if j.Attempts >= e.cfg.MaxAttempts {
			msg := fmt.Sprintf("gave up after %d attempts: %v", j.Attempts, err)
			return Outcome{Job: j, Kind: Dead, Reason: "retries-exhausted: " + err.Error(), Replies: []Frame{ErrReply(j.Agent, CodeRetriesExhausted, msg)}}, true
		}
		delay := e.cfg.Backoff.Delay(j.Attempts)
		e.log.Warn("transient failure, will retry", "inbox_id", j.ID, "agent", j.Agent, "verb", j.Verb, "attempt", j.Attempts, "in", delay, "err", err)
		return Outcome{Job: j, Kind: Retry, NotBefore: now.Add(delay), Reason: err.Error()}, true
	default:
		p := AsProtocolError(err)
		return Outcome{Job: j, Kind: Done, Replies: []Frame{ErrReply(j.Agent, p.Code, p.Message)}}, true
	}
}

// writer is the single goroutine that makes answers durable: it drains what
// is ready into one batch, settles the outcomes, then publishes the events,
// so a busy relay writes big batches and an idle one writes at once. Past
// the shutdown deadline it writes nothing more: events are kept for the
// spill file, outcomes left to their leases.
func (e *Engine) writer() {
	defer close(e.writerDone)
	defer close(e.calls)
	var outcomes []Outcome
	var events []Frame
	for {
		var first output
		var ok bool
		if !e.fenceTaken && e.fence.holding() {
			// events wait for other relays' replies: look again soon
			select {
			case first, ok = <-e.output:
			case <-e.cfg.Clock.After(e.cfg.PollInterval):
				e.flush(nil, nil)
				continue
			}
		} else {
			first, ok = <-e.output
		}
		if !ok {
			break
		}
		outcomes, events = outcomes[:0], events[:0]
		add := func(o output) {
			if o.outcome != nil {
				outcomes = append(outcomes, *o.outcome)
			} else {
				events = append(events, o.event)
			}
		}
		add(first)
	drain:
		for len(outcomes)+len(events) < e.cfg.WriteBatch {
			select {
			case o, ok := <-e.output:
				if !ok {
					break drain
				}
				add(o)
			default:
				break drain
			}
		}
		if !e.flush(outcomes, events) {
			// A call was abandoned and may still read the batch.
			outcomes, events = nil, nil
		}
	}
	if e.fenceTaken {
		return
	}
	// Published late rather than lost, or spilled.
	unpublished, _ := e.publish(e.writeCtx, e.fence.release())
	e.spill = append(e.spill, unpublished...)
}

// flush retries until the database takes the batch: an answer the switch
// gave must not be lost to a database restart. Leases keep the commands ours
// meanwhile (the lease loop extends them). A batch the database refuses for
// the data of one of its messages is never retried whole (refusedOutcomes).
// Only the shutdown deadline ends the retries; what is left then is spilled
// (events, before those the fence holds) or left to its lease (outcomes).
// It reports false when it abandoned a database call.
func (e *Engine) flush(outcomes []Outcome, events []Frame) bool {
	ctx := e.writeCtx
	unsettled, ok := e.settleAll(ctx, outcomes)
	e.unsettledAtShutdown(unsettled)
	if !ok || ctx.Err() != nil || e.fenceTaken {
		e.spillEvents(events)
		return ok
	}
	// After the settle: this relay's replies are journaled before the
	// fence looks for commands still in flight.
	ready := events
	if e.fence.probe != nil {
		// The fence asks the database too: on the caller goroutine, and
		// what it held so far goes with this batch if the call is abandoned.
		unpublished := append(e.fence.frames(), events...)
		now := e.cfg.Clock.Now()
		if !e.do(func() { ready = e.fence.admit(ctx, events, now) }) {
			e.fenceTaken = true
			e.spill = append(e.spill, unpublished...)
			return false
		}
	}
	unpublished, ok := e.publish(ctx, ready)
	if len(unpublished) > 0 {
		e.spill = append(e.spill, unpublished...)
		e.spillEvents(nil)
	}
	return ok
}

// spillEvents keeps events for the spill file, after those the fence holds
// (they arrived first).
func (e *Engine) spillEvents(events []Frame) {
	if !e.fenceTaken {
		e.spill = append(e.spill, e.fence.take()...)
	}
	e.spill = append(e.spill, events...)
}

// settleAll settles outcomes, retrying, and returns those the shutdown
// deadline left unsettled; ok is false when it abandoned a call.
func (e *Engine) settleAll(ctx context.Context, outcomes []Outcome) (unsettled []Outcome, ok bool) {
	for failures := 0; len(outcomes) > 0; failures++ {
		if ctx.Err() != nil {
			return outcomes, true
		}
		e.wc.ctx, e.wc.outcomes, e.wc.first = ctx, outcomes, failures == 0
		if !e.do(e.settleFn) {
			return outcomes, false
		}
		n, more, err := e.wc.n, e.wc.more, e.wc.err
		e.wc.outcomes = nil
		if err == nil {
			e.committed()
			e.count(outcomes)
			if n < len(outcomes) {
				e.log.Warn("answers dropped: lease taken over by another relay", "stale", len(outcomes)-n)
			}
			e.inFlight.Add(-int64(len(outcomes)))
			e.settles.Add(1)
			if e.claimStarved.Load() || more {
				signal(e.claimWake)
			}
			if e.intakeHeld.Load() {
				signal(e.intakeWake)
			}
			return nil, true
		}
		if errors.Is(err, ErrDataRejected) {
			return e.refusedOutcomes(ctx, outcomes, err)
		}
		e.log.Error("settle answers", "err", err, "batch", len(outcomes), "failures", failures+1)
		if !e.pause(ctx, retryDelay(failures)) {
			return outcomes, true
		}
	}
	return nil, true
}

// refusedOutcomes handles a settle the database refused for the data of a
// message even after the store tried to record that message in relay_dead
// (a store isolates what it can): the batch is split until the outcome at
// fault is alone, whose replies are then dropped, loudly, so its command is
// settled and its agent's queue moves on. An outcome refused without replies
// is left to its lease: reclaim decides its fate as for a dead relay's.
func (e *Engine) refusedOutcomes(ctx context.Context, outcomes []Outcome, err error) ([]Outcome, bool) {
	if len(outcomes) > 1 {
		half := len(outcomes) / 2
		u1, ok := e.settleAll(ctx, outcomes[:half])
		if !ok {
			return slices.Concat(u1, outcomes[half:]), false
		}
		u2, ok := e.settleAll(ctx, outcomes[half:])
		return slices.Concat(u1, u2), ok
	}
	o := outcomes[0]
	e.stats.lost.Add(int64(len(o.Replies)))
	if len(o.Replies) == 0 {
		if o.Kind == Done && o.Reason == "" {
			// Nothing of the message's own is left to refuse.
			e.log.Error("outcome refused by the database: left to its lease", "inbox_id", o.Job.ID, "agent", o.Job.Agent, "err", err)
			e.inFlight.Add(-1)
			// Stop must not release it: that would run it again as if
			// it had never been sent.
			e.keepLeases = true
			return nil, true
		}
		// Its reason (a driver's message) is what the database refuses:
		// the command is finished bare, so its agent's queue moves on.
		e.log.Error("outcome refused by the database: command finished without its record", "inbox_id", o.Job.ID,
			"agent", o.Job.Agent, "frame", o.Job.Frame, "reason", o.Reason, "err", err)
		o.Kind, o.Reason, o.NotBefore = Done, "", time.Time{}
		return e.settleAll(ctx, []Outcome{o})
	}
	for _, f := range o.Replies {
		e.log.Error("reply refused by the database, in T_TTO and in relay_dead: lost", "inbox_id", o.Job.ID,
			"agent", o.Job.Agent, "frame", f.String(), "err", err)
	}
	o.Replies = nil
	return e.settleAll(ctx, []Outcome{o})
}

// publish retries until the database takes the events, and returns those
// the shutdown deadline left unpublished; ok is false when it abandoned a
// call. A batch refused for an event's data is split, as refusedOutcomes
// does, until the event at fault is alone.
func (e *Engine) publish(ctx context.Context, events []Frame) (unpublished []Frame, ok bool) {
	for failures := 0; len(events) > 0; failures++ {
		if ctx.Err() != nil {
			return events, true
		}
		e.wc.ctx, e.wc.events = ctx, events
		if !e.do(e.publishFn) {
			return events, false
		}
		err := e.wc.err
		e.wc.events = nil
		if err == nil {
			e.committed()
			e.stats.events.Add(int64(len(events)))
			return nil, true
		}
		if errors.Is(err, ErrDataRejected) {
			if len(events) == 1 {
				e.stats.lost.Add(1)
				e.log.Error("event refused by the database, in T_TTO and in relay_dead: lost", "frame", events[0].String(), "err", err)
				return nil, true
			}
			half := len(events) / 2
			u1, ok := e.publish(ctx, events[:half])
			if !ok {
				return slices.Concat(u1, events[half:]), false
			}
			u2, ok := e.publish(ctx, events[half:])
			return slices.Concat(u1, u2), ok
		}
		e.log.Error("publish events", "err", err, "batch", len(events), "failures", failures+1)
		if !e.pause(ctx, retryDelay(failures)) {
			return events, true
		}
	}
	return nil, true
}

// settle applies outcomes. On a first try, the same transaction leases the
// commands they leave at the head of their agents' queues, and they are
// dispatched at once: a busy agent's next command needs no separate claim.
// It returns how many outcomes applied, and whether commands may have been
// left for the claim loop (all the settle could lease, or none looked for).
func (e *Engine) settle(ctx context.Context, outcomes []Outcome, first bool) (int, bool, error) {
	if !first {
		n, _, err := e.cfg.Store.Settle(ctx, outcomes, e.cfg.Clock.Now(), ClaimRequest{})
		return n, true, err
	}
	// Not held across the call: Stop must not wait for a database that
	// does not answer. Commands it leases once Stop has sealed the engine
	// are not started (see start).
	e.gate.RLock()
	open := e.claimOpen && e.active.Load() // a standby relay leases nothing
	e.gate.RUnlock()
	now := e.cfg.Clock.Now()
	if !open {
		n, _, err := e.cfg.Store.Settle(ctx, outcomes, now, ClaimRequest{})
		return n, true, err
	}
	// The outcomes' slots are still counted in flight: at most that many
	// commands can take their place.
	room := min(len(outcomes), e.cfg.MaxInFlight-int(e.inFlight.Load())+len(outcomes))
	leftover := e.leftover.Load()
	n, jobs, err := e.cfg.Store.Settle(ctx, outcomes, now, ClaimRequest{Owner: e.owner, Limit: room, Now: now, LeaseUntil: now.Add(e.cfg.Lease)})
	if err != nil {
		return n, true, err
	}
	e.stats.claimed.Add(int64(len(jobs)))
	e.dispatch(e.runCtx, jobs)
	// The settle leased every next command it could see. An intake that
	// committed meanwhile and left commands unleased may have added one it
	// could not see (nor lease itself, seeing the finished command still
	// there): Claim looks then. A retried command stays at its agent's head
	// for Claim too.
	overlapped := e.leftover.Load() != leftover
	retried := slices.ContainsFunc(outcomes, func(o Outcome) bool { return o.Kind == Retry })
	return n, retried || len(jobs) >= room || (overlapped && len(jobs) < len(outcomes)), nil
}

func (e *Engine) count(outcomes []Outcome) {
	for _, o := range outcomes {
		switch o.Kind {
		case Done:
			e.stats.done.Add(1)
		case Retry:
			e.stats.retried.Add(1)
		case Dead:
			e.stats.dead.Add(1)
			if strings.HasPrefix(o.Reason, inDoubtReason) {
				e.stats.inDoubt.Add(1)
			}
		}
	}
}
