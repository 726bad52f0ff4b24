package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
	"github.com/ctirelay/ctirelay/store/storetest"
)

// BenchmarkCommandCycle measures the store's share of one command's life:
// the ERP inserts rows, Intake takes them, Claim leases them and Settle
// answers them in T_TTO, in batches as the engine does. It reports
// commands/s and each phase's microseconds per command; speed is measured
// here, never asserted.
func BenchmarkCommandCycle(b *testing.B) {
	for _, batch := range []int{100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			benchCycle(b, batch)
		})
	}
}

func benchCycle(b *testing.B, batch int) {
	const agents = 2000
	ctx := context.Background()
	s, dsn := migrated(b, store.Options{})
	db := rawDB(b, dsn)
	now := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	var insert strings.Builder
	n := 0
	var intake, claim, settle time.Duration
	b.ResetTimer()
	for b.Loop() {
		insert.Reset()
		insert.WriteString("INSERT INTO T_TTI (DS_TTI) VALUES ")
		for i := range batch {
			if i > 0 {
				insert.WriteByte(',')
			}
			fmt.Fprintf(&insert, "('<ag%d><P><ON><%d>$')", (n+i)%agents, i)
		}
		n += batch
		if _, err := db.Exec(insert.String()); err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		if got, _, err := s.Intake(ctx, relay.IntakeRequest{Limit: batch, Now: now}, relay.ClaimRequest{}); err != nil || got != batch {
			b.Fatalf("Intake = %d, %v", got, err)
		}
		t1 := time.Now()
		jobs, err := s.Claim(ctx, relay.ClaimRequest{Owner: "bench", Limit: batch, Now: now, LeaseUntil: now.Add(time.Minute)})
		if err != nil || len(jobs) != batch {
			b.Fatalf("Claim = %d jobs, %v", len(jobs), err)
		}
		t2 := time.Now()
		outcomes := make([]relay.Outcome, len(jobs))
		for i, j := range jobs {
			outcomes[i] = relay.Outcome{Job: j, Kind: relay.Done, Replies: []relay.Frame{relay.OK(j.Agent)}}
		}
		if got, _, err := s.Settle(ctx, outcomes, now, relay.ClaimRequest{}); err != nil || got != len(jobs) {
			b.Fatalf("Settle = %d, %v", got, err)
		}
		intake, claim, settle = intake+t1.Sub(t0), claim+t2.Sub(t1), settle+time.Since(t2)
		// the ERP reads its answers
		if _, err := db.Exec("DELETE FROM T_TTO"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "commands/s")
	per := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(n) }
	b.ReportMetric(per(intake), "intake-µs/cmd")
	b.ReportMetric(per(claim), "claim-µs/cmd")
	b.ReportMetric(per(settle), "settle-µs/cmd")
}

// BenchmarkFeedLatency: how soon a feed subscriber is handed a reply after
// its settle commits (storetest.BenchFeedLatency).
func BenchmarkFeedLatency(b *testing.B) {
	s, _ := migrated(b, store.Options{})
	storetest.BenchFeedLatency(b, s)
}

// BenchmarkFeedSubmit: commands queued from many goroutines, committed
// together by the feed or one by one (storetest.BenchFeedSubmit).
func BenchmarkFeedSubmit(b *testing.B) {
	s, _ := migrated(b, store.Options{})
	storetest.BenchFeedSubmit(b, s)
}
