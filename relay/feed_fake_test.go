package relay_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

var _ relay.FeedStore = (*feedStore)(nil)

// feedStore is a journal in memory with counters, for the feed's tests.
type feedStore struct {
	mu       sync.Mutex
	journal  []relay.JournalEntry
	cursors  map[string]int64
	inbox    int64
	enqueues int
	reads    int
	// gate, when set, holds each Enqueue until it can receive; entered,
	// when set, receives first.
	gate, entered chan struct{}
	// onEnqueue runs inside Enqueue after the ids are given, unlocked.
	onEnqueue func(ids []int64)
	readDone  chan struct{} // a value after each JournalSince
	failRead  error
	abandoned []int64 // ids given to Abandon
}

func newFeedStore() *feedStore {
	return &feedStore{cursors: map[string]int64{}, readDone: make(chan struct{}, 1000)}
}

func (s *feedStore) Abandon(ctx context.Context, ids []int64, why *relay.ProtocolError) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.abandoned = append(s.abandoned, ids...)
	return len(ids), nil
}

func (s *feedStore) Enqueue(ctx context.Context, msgs []relay.Inbound, now time.Time, maxFrame int) ([]relay.Enqueued, error) {
	if s.entered != nil {
		s.entered <- struct{}{}
	}
	if s.gate != nil {
		select {
		case <-s.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	s.mu.Lock()
	s.enqueues++
	out := make([]relay.Enqueued, len(msgs))
	var ids []int64
	for i, m := range msgs {
		f, err := relay.Parse(m.Raw)
		if err != nil {
			out[i].Err = relay.AsProtocolError(err)
			s.add(relay.JournalEntry{Kind: relay.KindRejected, Frame: m.Raw, Origin: m.Source, Ref: m.Ref})
			continue
		}
		s.inbox++
		out[i].ID = s.inbox
		ids = append(ids, s.inbox)
		s.add(relay.JournalEntry{Kind: relay.KindCommand, Agent: f.Login(), Frame: m.Raw, Origin: m.Source, Ref: m.Ref, InboxID: s.inbox})
	}
	hook := s.onEnqueue
	s.mu.Unlock()
	if hook != nil {
		hook(ids)
	}
	return out, nil
}

func (s *feedStore) add(e relay.JournalEntry) int64 {
	e.ID = int64(len(s.journal) + 1)
	s.journal = append(s.journal, e)
	return e.ID
}

// reply journals the replies of one command, in one go.
func (s *feedStore) reply(id int64, agent string, frames ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range frames {
		s.add(relay.JournalEntry{Kind: relay.KindReply, Agent: agent, Frame: f, InboxID: id, Outcome: relay.OutcomeOK})
	}
}

// event journals a switch event and returns its id.
func (s *feedStore) event(agent, frame string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.add(relay.JournalEntry{Kind: relay.KindEvent, Agent: agent, Frame: frame, Origin: relay.OriginSwitch})
}

func (s *feedStore) JournalSince(ctx context.Context, after int64, kinds []string, limit int) ([]relay.JournalEntry, error) {
	defer func() {
		select {
		case s.readDone <- struct{}{}:
		default:
		}
	}()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	if s.failRead != nil {
		return nil, s.failRead
	}
	var out []relay.JournalEntry
	for _, e := range s.journal {
		if e.ID <= after || (len(kinds) > 0 && !slices.Contains(kinds, e.Kind)) {
			continue
		}
		out = append(out, e)
		if len(out) == limit {
			break
		}
	}
	return out, nil
}

func (s *feedStore) JournalHead(ctx context.Context) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int64(len(s.journal)), nil
}

func (s *feedStore) Cursor(ctx context.Context, name string) (relay.Cursor, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.cursors[name]
	return relay.Cursor{Name: name, Position: p}, ok, nil
}

func (s *feedStore) AdvanceCursors(ctx context.Context, cursors []relay.Cursor, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range cursors {
		if c.Position > s.cursors[c.Name] {
			s.cursors[c.Name] = c.Position
		}
	}
	return nil
}

func (s *feedStore) counts() (enqueues, reads int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.enqueues, s.reads
}

func (s *feedStore) cursor(name string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cursors[name]
}

// stillClock never fires: what the feed delivers came from a wake-up.
type stillClock struct{}

func (stillClock) Now() time.Time                       { return epoch }
func (stillClock) After(time.Duration) <-chan time.Time { return nil }

func newFeed(t *testing.T, s *feedStore, tune func(*relay.FeedConfig)) *relay.Feed {
	t.Helper()
	cfg := relay.FeedConfig{Store: s, Clock: stillClock{}}
	if tune != nil {
		tune(&cfg)
	}
	f, err := relay.NewFeed(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Stop)
	return f
}

// collector records what a subscriber is handed.
type collector struct {
	mu      sync.Mutex
	got     []relay.JournalEntry
	changed chan struct{}
}

func newCollector() *collector { return &collector{changed: make(chan struct{}, 1)} }

func (c *collector) fn(d relay.Delivery) {
	c.mu.Lock()
	c.got = append(c.got, d.Entry)
	c.mu.Unlock()
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

func (c *collector) ids() []int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]int64, len(c.got))
	for i, e := range c.got {
		out[i] = e.ID
	}
	return out
}

// waitN waits (without a clock: a guard against a hang only) until n
// entries were handed.
func (c *collector) waitN(t *testing.T, n int) []int64 {
	t.Helper()
	guard := time.After(10 * time.Second)
	for {
		if ids := c.ids(); len(ids) >= n {
			return ids
		}
		select {
		case <-c.changed:
		case <-guard:
			t.Fatalf("handed %v, want %d entries", c.ids(), n)
		}
	}
}

var errBoom = errors.New("boom")

func (s *feedStore) JournalWakeups() <-chan struct{} { return nil }
