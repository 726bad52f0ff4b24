package relay_test

import (
	"context"
	"slices"
	"testing"

	"github.com/ctirelay/ctirelay/relay"
)

// Read pages through the journal after an id with a filter, never past
// what the feed has read, and says where the next page starts.
func TestFeedReadIsBoundedByTheFeed(t *testing.T) {
	leakCheck(t)
	s := newFeedStore()
	f := newFeed(t, s, func(c *relay.FeedConfig) { c.Batch = 2 }) // pages span several store reads
	// The feed reads every kind while a subscriber takes them all.
	if _, err := f.Subscribe("", relay.Filter{}, func(relay.Delivery) {}); err != nil {
		t.Fatal(err)
	}
	a1 := s.event("a", "<a><R><1>$")
	s.event("b", "<b><R><1>$")
	a2 := s.event("a", "<a><R><2>$")
	s.reply(9, "b", "<b><OK>$")
	flush(t, f)
	pos := f.Position()
	a3 := s.event("a", "<a><R><3>$") // committed, not yet read by the feed
	ctx := context.Background()
	ids := func(es []relay.JournalEntry) []int64 {
		var out []int64
		for _, e := range es {
			out = append(out, e.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		after    int64
		filter   relay.Filter
		limit    int
		want     []int64
		wantNext int64
	}{
		{"an agent's, up to the feed", 0, relay.Filter{Agents: []string{"A "}}, 10, []int64{a1, a2}, pos},
		{"a page of one", 0, relay.Filter{Agents: []string{"a"}}, 1, []int64{a1}, a1},
		{"the next page", a1, relay.Filter{Agents: []string{"a"}}, 1, []int64{a2}, a2},
		{"nothing more up to the feed", a2, relay.Filter{Agents: []string{"a"}}, 10, nil, pos},
		{"by kind", 0, relay.Filter{Kinds: []string{relay.KindReply}}, 10, []int64{pos}, pos},
	} {
		got, next, err := f.Read(ctx, tc.after, tc.filter, tc.limit)
		if err != nil || !slices.Equal(ids(got), tc.want) || next != tc.wantNext {
			t.Errorf("%s: Read = %v, next %d, %v; want %v, next %d", tc.name, ids(got), next, err, tc.want, tc.wantNext)
		}
	}
	flush(t, f)
	if got, next, err := f.Read(ctx, pos, relay.Filter{Agents: []string{"a"}}, 10); err != nil || !slices.Equal(ids(got), []int64{a3}) || next != a3 {
		t.Fatalf("once the feed has read it: %v, next %d, %v", ids(got), next, err)
	}
}
