package relay

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Filter chooses the journal entries a subscriber receives. Empty lists
// take everything.
type Filter struct {
	Kinds  []string // KindCommand, KindRejected, KindReply, KindEvent, KindNote
	Agents []string // logins, compared without case or surrounding spaces
	// Whats, when set, narrows the notes taken to those whose What (the
	// entry's Ref) is one of them ("pop": the screen pops); other kinds
	// are not affected.
	Whats []string
}

// Match reports whether the filter takes e.
func (fl Filter) Match(e JournalEntry) bool { return fl.match(e) }

func (fl Filter) match(e JournalEntry) bool {
	if len(fl.Kinds) > 0 && !slices.Contains(fl.Kinds, e.Kind) {
		return false
	}
	if len(fl.Whats) > 0 && e.Kind == KindNote && !slices.Contains(fl.Whats, e.Ref) {
		return false
	}
	if len(fl.Agents) == 0 {
		return true
	}
	agent := strings.TrimSpace(e.Agent)
	for _, a := range fl.Agents {
		if strings.EqualFold(strings.TrimSpace(a), agent) {
			return true
		}
	}
	return false
}

// Delivery is what a subscriber's fn is handed: an entry, and for a reply
// to a command submitted through this subscription, that command.
type Delivery struct {
	Entry   JournalEntry
	Pending *Pending
}

// SubscribeOption tunes a subscription.
type SubscribeOption func(*subOptions)

type subOptions struct {
	after     int64
	hasAfter  bool
	manualAck bool
	buffer    int
	waitedFor bool
}

// After starts the subscription after journal id id (an SSE client's
// Last-Event-ID) instead of the head or the named position.
func After(id int64) SubscribeOption {
	return func(o *subOptions) { o.after, o.hasAfter = id, true }
}

// ManualAck leaves a named subscription's durable position where it is
// until Ack moves it (a webhook acknowledges once a delivery succeeded);
// otherwise each entry counts as delivered once fn returns.
func ManualAck() SubscribeOption { return func(o *subOptions) { o.manualAck = true } }

// Buffer sets how many entries may wait for fn (FeedConfig.Buffer).
func Buffer(n int) SubscribeOption { return func(o *subOptions) { o.buffer = n } }

// WaitedFor says that whoever submits through the subscription waits for
// the replies on something that ends with the feed (a socket connection):
// when the feed stops, its commands still unanswered are abandoned
// (Pending.Abandon) before they fail with ErrFeedStopped, so a
// non-idempotent one never runs later for no one. Commands submitted
// otherwise (ctirelay send) stay queued.
func WaitedFor() SubscribeOption { return func(o *subOptions) { o.waitedFor = true } }

// Subscription is one subscriber of a Feed.
//
// Its fn is called from one goroutine of its own, entry after entry in
// journal order, so a slow fn slows only this subscriber. Entries wait for
// it in a bounded buffer; when the buffer overflows the subscription ends
// with ErrLagged (Done closes, Err says so): the feed never waits for a
// subscriber and never drops entries silently from a live one. What was
// still in the buffer is not handed on. A named subscriber subscribes again
// and resumes from its durable position (what it acknowledged); an unnamed
// one resumes with After(Position()) — nothing is lost either way, the
// entries are read again.
type Subscription struct {
	feed   *Feed
	name   string
	filter Filter
	fn     func(Delivery)
	opts   subOptions

	items  chan item
	cut    chan struct{} // closed when the feed stopped handing it entries
	joined chan struct{} // closed once it is live (caught up) or ended
	done   chan struct{} // closed when fn will not be called again
	once   sync.Once

	// guarded by feed.mu
	live   bool
	err    error
	pushed int64

	handled  atomic.Int64 // items taken from items
	position atomic.Int64 // last entry handed to fn
	progress chan struct{}
}

// item is one thing for a subscription's goroutine: an entry, or a pending
// command whose replies it has handed on.
type item struct {
	entry    JournalEntry
	pending  *Pending
	complete *Pending
}

// Subscribe calls fn for every journal entry that filter takes, in journal
// order, from after: the durable position name in relay_cursor (the head
// when none was saved), or the head when name is empty; After overrides
// both. A named subscription's position is saved in batches as it moves.
// Subscriptions starting behind the head catch up by reading on their own,
// then join the feed's one reader.
func (f *Feed) Subscribe(name string, filter Filter, fn func(Delivery), opts ...SubscribeOption) (*Subscription, error) {
	s := &Subscription{feed: f, name: name, filter: filter, fn: fn,
		cut: make(chan struct{}), joined: make(chan struct{}), done: make(chan struct{}), progress: make(chan struct{}, 1)}
	s.opts.buffer = f.cfg.Buffer
	for _, o := range opts {
		o(&s.opts)
	}
	s.items = make(chan item, max(s.opts.buffer, 1))
	f.mu.Lock()
	running := f.running && !f.stopping
	f.mu.Unlock()
	if !running {
		return nil, ErrFeedStopped
	}
	f.mu.Lock()
	head := f.pos
	f.mu.Unlock()
	from := head
	switch {
	case s.opts.hasAfter:
		from = s.opts.after
	case name != "":
		p, found, err := f.position(context.Background(), name)
		if err != nil {
			return nil, err
		}
		if found {
			from = p
		}
	}
	s.position.Store(from)
	f.mu.Lock()
	if f.stopping {
		f.mu.Unlock()
		return nil, ErrFeedStopped
	}
	if from >= f.pos {
		// Nothing to catch up: live at once, from where the reader is.
		s.live = true
		s.position.Store(max(from, f.pos))
		f.subs[s] = struct{}{}
		close(s.joined)
		f.mu.Unlock()
		f.Wake() // its kinds may be new to the reader
		go s.run(false)
		return s, nil
	}
	f.catching[s] = struct{}{}
	f.mu.Unlock()
	go s.run(true)
	return s, nil
}

// Name is the subscription's durable position's name ("" when unnamed).
func (s *Subscription) Name() string { return s.name }

// Position is the id of the last entry handed to fn (where it started, if
// none).
func (s *Subscription) Position() int64 { return s.position.Load() }

// Ack saves id as delivered: only forward, in the next batch of saved
// positions. For named subscriptions; unnamed ones have no durable position.
func (s *Subscription) Ack(id int64) {
	if s.name != "" {
		s.feed.Mark(s.name, id)
	}
}

// Submit does what Feed.Submit does, and hands each command's replies to
// this subscription's fn (as Delivery.Pending, whatever the filter) at
// their place in the journal, before the pending command completes: a
// transport that writes from fn writes replies and events in journal order.
// tag is given back by Pending.Tag.
func (s *Subscription) Submit(ctx context.Context, msgs []Inbound, tag any) ([]*Pending, error) {
	return s.feed.submit(ctx, &submission{msgs: msgs, sub: s, tag: tag})
}

// Done is closed once fn will not be called again.
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Err says why the subscription ended: ErrLagged, ErrFeedStopped, or nil
// after Close (and while it runs).
func (s *Subscription) Err() error {
	s.feed.mu.Lock()
	defer s.feed.mu.Unlock()
	return s.err
}

// Close ends the subscription and returns once fn has returned for the
// last time. Safe to call more than once; not from fn (it would wait for
// itself).
func (s *Subscription) Close() {
	s.end(nil)
	<-s.done
}

// end stops handing the subscription entries, with why.
func (s *Subscription) end(why error) {
	f := s.feed
	f.mu.Lock()
	s.stop(why)
	f.mu.Unlock()
}

// stop is end with feed.mu held.
func (s *Subscription) stop(why error) {
	s.once.Do(func() {
		s.live = false
		s.err = why
		delete(s.feed.subs, s)
		if _, ok := s.feed.catching[s]; ok {
			delete(s.feed.catching, s)
			close(s.joined)
		}
		close(s.cut)
	})
}

// push hands the subscription an item without waiting; a full buffer ends
// it with ErrLagged. Called with feed.mu held.
func (s *Subscription) push(it item) bool {
	select {
	case s.items <- it:
		s.pushed++
		return true
	default:
		s.feed.log.Warn("subscriber lagged; it must subscribe again", "name", s.name, "position", s.position.Load(), "buffer", cap(s.items))
		s.stop(ErrLagged)
		return false
	}
}

// flushMark returns a wait for the subscription to have handled what was
// pushed so far. Called with feed.mu held.
func (s *Subscription) flushMark() func(context.Context) error {
	target := s.pushed
	return func(ctx context.Context) error {
		for s.handled.Load() < target {
			select {
			case <-s.progress:
			case <-s.done:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	}
}

func (s *Subscription) run(catchUp bool) {
	defer close(s.done)
	if catchUp && !s.catchUp() {
		return
	}
	for {
		select {
		case it := <-s.items:
			s.handle(it)
		case <-s.cut:
			s.drain()
			return
		}
	}
}

// handle hands one item on. An item taken after the cut is not.
func (s *Subscription) handle(it item) {
	defer func() {
		s.handled.Add(1)
		signal(s.progress)
	}()
	select {
	case <-s.cut:
		s.discard(it)
		return
	default:
	}
	switch {
	case it.complete != nil:
		it.complete.finish(nil)
	case it.pending != nil:
		p := it.pending
		// Counted before fn: should the subscription be cut meanwhile, the
		// submitter hands on only the replies after this one.
		p.mu.Lock()
		gone := p.forgotten
		p.delivered++
		p.mu.Unlock()
		if !gone {
			s.fn(Delivery{Entry: it.entry, Pending: p})
		}
		s.delivered(it.entry.ID)
	default:
		s.fn(Delivery{Entry: it.entry})
		s.delivered(it.entry.ID)
	}
}

func (s *Subscription) delivered(id int64) {
	s.position.Store(id)
	if s.name != "" && !s.opts.manualAck {
		s.feed.Mark(s.name, id)
	}
}

// drain empties the buffer after the cut: pending commands still complete
// (their callers hand on what was not delivered).
func (s *Subscription) drain() {
	for {
		select {
		case it := <-s.items:
			s.discard(it)
			s.handled.Add(1)
		default:
			return
		}
	}
}

func (s *Subscription) discard(it item) {
	if it.complete != nil {
		it.complete.finish(nil)
	}
}

// catchUp reads from the subscription's position on its own until it
// reaches the feed's reader, then joins it. It returns false when the
// subscription ended meanwhile.
func (s *Subscription) catchUp() bool {
	f := s.feed
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-s.cut:
			cancel()
		case <-ctx.Done():
		}
	}()
	var kinds []string
	if len(s.filter.Kinds) > 0 {
		kinds = s.filter.Kinds
	}
	after := s.position.Load()
	failures := 0
	for {
		f.mu.Lock()
		target := f.pos
		if after >= target {
			// Joined under the reader's lock: nothing read after target
			// can be missed or handed twice.
			select {
			case <-s.cut:
				f.mu.Unlock()
				return false
			default:
			}
			if f.stopping {
				s.stop(ErrFeedStopped)
				f.mu.Unlock()
				return false
			}
			s.live = true
			f.subs[s] = struct{}{}
			delete(f.catching, s)
			close(s.joined)
			f.mu.Unlock()
			f.Wake() // its kinds may be new to the reader
			return true
		}
		f.mu.Unlock()
		for after < target {
			entries, err := f.cfg.Store.JournalSince(ctx, after, kinds, f.cfg.Batch)
			if ctx.Err() != nil {
				return false
			}
			if err != nil {
				failures++
				f.log.Warn("subscriber catching up: read journal", "name", s.name, "err", err, "failures", failures)
				select {
				case <-s.cut:
					return false
				case <-f.cfg.Clock.After(retryDelay(failures)):
				}
				continue
			}
			failures = 0
			for _, e := range entries {
				if e.ID > target {
					break
				}
				after = e.ID
				if s.filter.match(e) {
					s.fn(Delivery{Entry: e})
					s.delivered(e.ID)
				}
			}
			if len(entries) < f.cfg.Batch || (len(entries) > 0 && entries[len(entries)-1].ID >= target) {
				// Everything up to target is seen.
				after = max(after, target)
			}
		}
		s.position.Store(max(s.position.Load(), after))
	}
}
