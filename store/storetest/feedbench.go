package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// BenchFeedLatency measures how long after a settle commits a subscriber
// of a relay.Feed in the same process is handed the reply, woken as the
// engine wakes it (EngineConfig.Committed = Feed.Wake). An op is one
// command: enqueued, claimed and settled on s, then waited for. It reports
// the p50, p99 and max of that delay in µs; the feed's fallback poll is set
// to an hour, so only the wake-up delivers.
func BenchFeedLatency(b *testing.B, s relay.Store) {
	var st relay.FeedStore = s
	ctx := context.Background()
	feed, err := relay.NewFeed(relay.FeedConfig{Store: st, PollInterval: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	if err := feed.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer feed.Stop()
	seen := make(chan time.Time, 1)
	sub, err := feed.Subscribe("", relay.Filter{Kinds: []string{relay.KindReply}}, func(relay.Delivery) { seen <- time.Now() })
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Close()
	lat := make([]time.Duration, 0, b.N)
	now := time.Now()
	i := 0
	for b.Loop() {
		i++
		agent := fmt.Sprintf("ag%d", i%100)
		if _, err := s.Enqueue(ctx, []relay.Inbound{{Source: relay.SourceCLI, Raw: "<" + agent + "><S>$"}}, now, 0); err != nil {
			b.Fatal(err)
		}
		jobs, err := s.Claim(ctx, relay.ClaimRequest{Owner: "bench", Limit: 1, Now: now, LeaseUntil: now.Add(time.Hour)})
		if err != nil || len(jobs) != 1 {
			b.Fatalf("Claim: %v, %d jobs", err, len(jobs))
		}
		out := relay.Outcome{Job: jobs[0], Kind: relay.Done, Replies: []relay.Frame{relay.StatusReply(agent, relay.StateAvailable)}}
		if _, _, err := s.Settle(ctx, []relay.Outcome{out}, now, relay.ClaimRequest{}); err != nil {
			b.Fatal(err)
		}
		committed := time.Now()
		feed.Wake()
		lat = append(lat, (<-seen).Sub(committed))
	}
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) }
	b.ReportMetric(q(0.5), "p50-µs")
	b.ReportMetric(q(0.99), "p99-µs")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds()), "max-µs")
}

// BenchFeedSubmit measures commands queued per second from many goroutines
// at once (a socket bridge's connections): "feed" through Feed.Submit, whose
// submit loop commits what waits in one Enqueue; "locked" one Enqueue per
// command under one lock, as the socket bridge did before the feed. It
// reports the messages each Enqueue took.
func BenchFeedSubmit(b *testing.B, s relay.Store) {
	var st relay.FeedStore = s
	ctx := context.Background()
	cs := &countingStore{FeedStore: st}
	b.Run("feed", func(b *testing.B) {
		feed, err := relay.NewFeed(relay.FeedConfig{Store: cs, PollInterval: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		if err := feed.Start(ctx); err != nil {
			b.Fatal(err)
		}
		defer feed.Stop()
		cs.calls.Store(0)
		b.SetParallelism(16)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := feed.Submit(ctx, []relay.Inbound{{Source: relay.SourceSocket, Raw: "<ag><S>$"}}); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/float64(max(cs.calls.Load(), 1)), "msgs/enqueue")
	})
	b.Run("locked", func(b *testing.B) {
		var mu sync.Mutex
		b.SetParallelism(16)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				mu.Lock()
				_, err := st.Enqueue(ctx, []relay.Inbound{{Source: relay.SourceSocket, Raw: "<ag><S>$"}}, time.Now(), 0)
				mu.Unlock()
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(1, "msgs/enqueue")
	})
}

// countingStore counts Enqueue calls.
type countingStore struct {
	relay.FeedStore
	calls atomic.Int64
}

func (c *countingStore) Enqueue(ctx context.Context, msgs []relay.Inbound, now time.Time, maxFrame int) ([]relay.Enqueued, error) {
	c.calls.Add(1)
	return c.FeedStore.Enqueue(ctx, msgs, now, maxFrame)
}
