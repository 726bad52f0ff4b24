package relay

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// submitTimeout bounds one Enqueue. It is not tied to the callers: a
// command taken is queued even if its requester leaves at once.
const submitTimeout = 10 * time.Second

// submission is one Submit call waiting for the submit loop.
type submission struct {
	msgs []Inbound
	sub  *Subscription // set by Subscription.Submit
	tag  any
	done chan struct{}
	out  []*Pending
	err  error
}

// Submit enqueues msgs (as Store.Enqueue does, in one transaction with the
// messages other goroutines submit meanwhile: concurrent submissions are
// committed together, up to SubmitBatch messages per transaction) and
// returns one Pending per message, in order. It answers ErrFeedBusy at once
// when SubmitQueue messages are already waiting, ErrFeedStopped once the
// feed is stopping. ctx bounds only the wait: messages taken are enqueued
// even if it ends first.
func (f *Feed) Submit(ctx context.Context, msgs []Inbound) ([]*Pending, error) {
	return f.submit(ctx, &submission{msgs: msgs})
}

func (f *Feed) submit(ctx context.Context, s *submission) ([]*Pending, error) {
	if len(s.msgs) == 0 {
		return nil, nil
	}
	s.done = make(chan struct{})
	f.mu.Lock()
	switch {
	case !f.running || f.stopping:
		f.mu.Unlock()
		return nil, ErrFeedStopped
	case f.queued > 0 && f.queued+len(s.msgs) > f.cfg.SubmitQueue:
		f.mu.Unlock()
		return nil, ErrFeedBusy
	}
	f.queue = append(f.queue, s)
	f.queued += len(s.msgs)
	f.mu.Unlock()
	signal(f.subWake)
	select {
	case <-s.done:
		return s.out, s.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// submitLoop enqueues what is queued, as much as one batch takes per
// transaction, until ctx ends or the feed stops with the queue empty.
func (f *Feed) submitLoop(ctx context.Context) {
	for {
		f.mu.Lock()
		batch, n := f.takeQueued()
		stopping := f.stopping
		if len(batch) > 0 {
			f.enqueues++
		}
		gone := f.abandons
		f.abandons = nil
		f.mu.Unlock()
		if len(gone) > 0 {
			f.abandon(ctx, gone, "connection closed", submitTimeout)
		}
		if len(batch) == 0 {
			if stopping {
				return
			}
			select {
			case <-ctx.Done():
				f.failQueued(ErrFeedStopped)
				return
			case <-f.subWake:
			}
			continue
		}
		f.enqueue(ctx, batch, n)
	}
}

// takeQueued takes whole submissions up to SubmitBatch messages (at least
// one submission, however large). Called with mu held.
func (f *Feed) takeQueued() ([]*submission, int) {
	n, k := 0, 0
	for k < len(f.queue) && (k == 0 || n+len(f.queue[k].msgs) <= f.cfg.SubmitBatch) {
		n += len(f.queue[k].msgs)
		k++
	}
	batch := f.queue[:k:k]
	f.queue = f.queue[k:]
	f.queued -= n
	return batch, n
}

// abandonLater queues the id for the submit loop's next Abandon.
func (f *Feed) abandonLater(id int64) {
	f.mu.Lock()
	f.abandons = append(f.abandons, id)
	f.mu.Unlock()
	signal(f.subWake)
}

// abandon marks the commands of requesters that are gone. A failure is
// logged: those commands then run with no one to read their replies, as
// they would have before the mark existed.
func (f *Feed) abandon(ctx context.Context, ids []int64, why string, timeout time.Duration) {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	n, err := f.cfg.Store.Abandon(actx, ids, RequesterGone(why))
	if err != nil {
		f.log.Warn("could not mark the commands of requesters that left; they will run", "ids", ids, "err", err)
		return
	}
	f.abandoned.Add(int64(n))
	if n > 0 {
		f.log.Info("commands whose requester left will not be sent", "why", why, "commands", n)
	}
}

func (f *Feed) failQueued(err error) {
	f.mu.Lock()
	q := f.queue
	f.queue, f.queued = nil, 0
	f.mu.Unlock()
	for _, s := range q {
		s.err = err
		close(s.done)
	}
}

// enqueue commits a batch in one Enqueue and registers its pending
// commands before any reply to them can be missed: replies read while it
// was under way wait as orphans.
func (f *Feed) enqueue(ctx context.Context, batch []*submission, n int) {
	msgs := make([]Inbound, 0, n)
	for _, s := range batch {
		msgs = append(msgs, s.msgs...)
	}
	qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), submitTimeout)
	res, err := f.cfg.Store.Enqueue(qctx, msgs, f.cfg.Clock.Now(), f.cfg.MaxFrame)
	cancel()
	if err == nil && len(res) != len(msgs) {
		err = fmt.Errorf("enqueue returned %d results for %d messages", len(res), len(msgs))
	}
	if err != nil {
		err = fmt.Errorf("enqueue: %w", err)
	}
	f.mu.Lock()
	i := 0
	for _, s := range batch {
		if err != nil {
			s.err = err
			continue
		}
		s.out = make([]*Pending, len(s.msgs))
		for j := range s.msgs {
			p := &Pending{Enqueued: res[i], feed: f, sub: s.sub, tag: s.tag, done: make(chan struct{}),
				abandonable: Abandonable(s.msgs[j].Raw), waitedFor: s.sub != nil && s.sub.opts.waitedFor}
			i++
			s.out[j] = p
			if p.Err != nil {
				p.finish(nil)
				continue
			}
			f.adopt(p)
		}
	}
	f.enqueues--
	if f.enqueues == 0 {
		clear(f.orphans)
		f.openOrph = nil
	}
	f.mu.Unlock()
	for _, s := range batch {
		close(s.done)
	}
	// The journal has the commands taken (and refused): tail sees them now.
	f.Wake()
}

// orphan is the replies of an inbox id read while no pending command had
// it, during an Enqueue that may be returning it.
type orphan struct {
	id       int64
	entries  []JournalEntry
	complete bool
}

func (f *Feed) orphan(e JournalEntry) {
	o := f.orphans[e.InboxID]
	if o == nil {
		o = &orphan{id: e.InboxID}
		f.orphans[e.InboxID] = o
	}
	o.entries = append(o.entries, e)
	f.openOrph = o
}

// adopt registers a pending command, taking the replies already read for
// it; those are never handed through a subscription (they were read before
// it could be), so Wait returns them all undelivered. Called with mu held.
func (f *Feed) adopt(p *Pending) {
	o := f.orphans[p.ID]
	if o == nil {
		f.pending[p.ID] = p
		return
	}
	delete(f.orphans, p.ID)
	p.replies, p.sub = o.entries, nil
	if o.complete {
		p.finish(nil)
		return
	}
	f.pending[p.ID] = p
	if f.openOrph == o {
		f.openOrph, f.open = nil, p
	}
}

// Pending is a submitted message: refused at admission (Err set, nothing
// to wait for), or queued as inbox command ID, whose replies Wait returns.
type Pending struct {
	Enqueued

	feed *Feed
	sub  *Subscription
	tag  any
	done chan struct{}
	// abandonable: a non-idempotent command, not to run once its requester
	// is gone; waitedFor: abandoned when the feed stops (WaitedFor).
	abandonable, waitedFor bool

	mu        sync.Mutex
	replies   []JournalEntry // appended by the feed's reader until done
	err       error
	delivered int
	forgotten bool
}

// Done is closed once the command's replies are all read (or it was
// refused, or the feed stopped).
func (p *Pending) Done() <-chan struct{} { return p.done }

// Wait returns the command's replies, in journal order, once they are all
// read. A refused message returns its admission error (a *ProtocolError);
// ctx ending returns ctx.Err() and the command stays pending; the feed
// stopping returns ErrFeedStopped.
func (p *Pending) Wait(ctx context.Context) ([]JournalEntry, error) {
	if p.Err != nil {
		return nil, p.Err
	}
	select {
	case <-p.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.replies, p.err
}

// Tag is what Subscription.Submit was given.
func (p *Pending) Tag() any { return p.tag }

// Delivered is how many of the replies Wait returns were already handed to
// the submitting subscription's fn (all of them while it is live; fewer
// when it was not live when they were read): the caller hands on the rest.
func (p *Pending) Delivered() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.delivered
}

// Forget stops waiting for the command's replies (its requester left):
// its subscription is no longer handed them.
func (p *Pending) Forget() {
	p.mu.Lock()
	p.forgotten = true
	p.mu.Unlock()
}

// Abandon says the command's requester is gone (its connection closed or
// hung up) before the command ran: a non-idempotent command still waiting
// in the queue is marked so that it is never sent (Sources.Abandon: answered
// REQUESTER_GONE in the journal and dead-lettered when it reaches the head
// of its agent's queue). One already at the switch runs to its end; an
// idempotent one runs. The mark is written by the feed's submit loop, with
// the marks of other requesters that left meanwhile; it never blocks. The
// command stays pending: Wait returns its replies (that ERR, or the
// switch's); call Forget too to stop its subscription being handed them.
func (p *Pending) Abandon() {
	if p.feed == nil || !p.abandonable || p.ID == 0 {
		return
	}
	select {
	case <-p.done:
		return // answered: nothing left to abandon
	default:
	}
	p.feed.abandonLater(p.ID)
}

func (p *Pending) finish(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.done:
		return
	default:
	}
	p.err = err
	close(p.done)
}
