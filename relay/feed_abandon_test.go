package relay_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
)

func (s *feedStore) abandonedIDs() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(slices.Values(s.abandoned))
}

// A requester that leaves abandons its commands: the store is told about
// the non-idempotent ones still unanswered, never about an idempotent one
// or one already answered.
func TestFeedAbandonMarksOnlyWhatMustNotRun(t *testing.T) {
	leakCheck(t)
	s := newFeedStore()
	f := newFeed(t, s, nil)
	dial := submitOne(t, f, "<ana><A><85><40050777><>$")
	status := submitOne(t, f, "<ana><S>$")
	answered := submitOne(t, f, "<bob><A><85><40050778><>$")
	s.reply(answered.ID, "bob", "<bob><OK>$")
	f.Wake()
	if _, err := answered.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	answered.Abandon()
	status.Abandon()
	dial.Abandon()
	wait.For(t, "the abandoned dial marked", func() bool { return len(s.abandonedIDs()) > 0 })
	flush(t, f)
	f.Stop()
	if got := s.abandonedIDs(); !slices.Equal(got, []int64{dial.ID}) {
		t.Fatalf("abandoned %v, want only the unanswered dial %d", got, dial.ID)
	}
	if f.Abandoned() != 1 {
		t.Fatalf("Abandoned() = %d, want 1", f.Abandoned())
	}
}

// When the feed stops, the unanswered non-idempotent commands submitted
// through a WaitedFor subscription are abandoned (their connections close
// with the relay); those submitted otherwise (ctirelay send) stay queued.
func TestFeedStopAbandonsWhatWaitedForSubscriptionsSubmitted(t *testing.T) {
	leakCheck(t)
	s := newFeedStore()
	f := newFeed(t, s, nil)
	sub, err := f.Subscribe("", relay.Filter{Kinds: []string{relay.KindEvent}}, func(relay.Delivery) {}, relay.WaitedFor())
	if err != nil {
		t.Fatal(err)
	}
	ps, err := sub.Submit(context.Background(), []relay.Inbound{
		{Source: relay.SourceSocket, Raw: "<so4><L><ON>$"},
		{Source: relay.SourceSocket, Raw: "<so4><A><85><40050777><>$"},
	}, "y")
	if err != nil {
		t.Fatal(err)
	}
	cli := submitOne(t, f, "<so5><A><85><40050778><>$")
	f.Stop()
	for _, p := range append(ps, cli) {
		if _, err := p.Wait(context.Background()); !errors.Is(err, relay.ErrFeedStopped) {
			t.Fatalf("Wait after Stop: %v, want ErrFeedStopped", err)
		}
	}
	if got := s.abandonedIDs(); !slices.Equal(got, []int64{ps[1].ID}) {
		t.Fatalf("abandoned %v, want only the socket's dial %d", got, ps[1].ID)
	}
}
