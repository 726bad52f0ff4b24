package relay_test

import (
	"context"
	"testing"

	"github.com/ctirelay/ctirelay/relay"
)

// The engine wakes the feed after each commit: a subscriber is handed the
// reply although the feed's clock never fires a poll.
func TestFeedWokenByTheEngine(t *testing.T) {
	leakCheck(t)
	var feed *relay.Feed
	r := newRig(t, func(c *relay.EngineConfig) { c.Committed = func() { feed.Wake() } })
	f, err := relay.NewFeed(relay.FeedConfig{Store: r.store, Clock: stillClock{}})
	if err != nil {
		t.Fatal(err)
	}
	feed = f
	if err := feed.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer feed.Stop()
	c := newCollector()
	if _, err := feed.Subscribe("", relay.Filter{Kinds: []string{relay.KindReply}}, c.fn); err != nil {
		t.Fatal(err)
	}
	r.store.InsertTTI(1, "<jose><L><ON>$")
	r.start()
	c.waitN(t, 1)
	c.mu.Lock()
	got := c.got[0].Frame
	c.mu.Unlock()
	if got != "<jose><OK>$" {
		t.Fatalf("handed %q", got)
	}
	r.engine.Stop()
}
