package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
	"github.com/ctirelay/ctirelay/store/sqlite"
	"github.com/ctirelay/ctirelay/store/storetest"
)

// BenchmarkCommandLifecycle measures one command from T_TTI to its reply in
// T_TTO (intake, claim, settle) in batches as the engine runs them; an op is
// one command, and each phase is reported in µs per command. Run with
// -benchtime=Nx for large N.
func BenchmarkCommandLifecycle(b *testing.B) {
	for _, sync := range []string{"FULL", "NORMAL"} {
		b.Run("synchronous="+sync, func(b *testing.B) {
			ctx := context.Background()
			path := filepath.Join(b.TempDir(), "bench.db")
			s, err := sqlite.OpenConfig(ctx, path, store.Options{}, sqlite.Config{Exclusive: true, Synchronous: sync})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			if _, err := s.Migrate(ctx); err != nil {
				b.Fatal(err)
			}
			const agents, batchSize = 200, 64
			for lo := 0; lo < b.N; lo += 400 {
				var q strings.Builder
				q.WriteString("INSERT INTO T_TTI (DS_TTI) VALUES ")
				for i := lo; i < min(lo+400, b.N); i++ {
					if i > lo {
						q.WriteString(", ")
					}
					fmt.Fprintf(&q, "('<ag%d><P><ON><1>$')", i%agents)
				}
				if _, err := s.DB().Exec(q.String()); err != nil {
					b.Fatal(err)
				}
			}
			now := time.Now()
			var intake, claim, settle time.Duration
			b.ReportAllocs()
			b.ResetTimer()
			done := 0
			for done < b.N {
				t0 := time.Now()
				if _, _, err := s.Intake(ctx, relay.IntakeRequest{Limit: batchSize, Now: now}, relay.ClaimRequest{}); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				jobs, err := s.Claim(ctx, relay.ClaimRequest{Owner: "bench", Limit: batchSize, Now: now, LeaseUntil: now.Add(time.Minute)})
				if err != nil {
					b.Fatal(err)
				}
				t2 := time.Now()
				outcomes := make([]relay.Outcome, len(jobs))
				for i, j := range jobs {
					outcomes[i] = relay.Outcome{Job: j, Kind: relay.Done, Replies: []relay.Frame{relay.OK(j.Agent)}}
				}
				n, _, err := s.Settle(ctx, outcomes, now, relay.ClaimRequest{})
				if err != nil {
					b.Fatal(err)
				}
				intake, claim, settle = intake+t1.Sub(t0), claim+t2.Sub(t1), settle+time.Since(t2)
				done += n
			}
			per := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(done) }
			b.ReportMetric(per(intake), "intake-µs/cmd")
			b.ReportMetric(per(claim), "claim-µs/cmd")
			b.ReportMetric(per(settle), "settle-µs/cmd")
		})
	}
}

// BenchmarkFeedLatency: how soon a feed subscriber is handed a reply after
// its settle commits (storetest.BenchFeedLatency).
func BenchmarkFeedLatency(b *testing.B) { storetest.BenchFeedLatency(b, benchStore(b)) }

// BenchmarkFeedSubmit: commands queued from many goroutines, committed
// together by the feed or one by one (storetest.BenchFeedSubmit).
func BenchmarkFeedSubmit(b *testing.B) { storetest.BenchFeedSubmit(b, benchStore(b)) }

// benchStore is a migrated store on a new file, closed when b ends.
func benchStore(b *testing.B) *sqlite.Store {
	b.Helper()
	path := filepath.Join(b.TempDir(), "bench.db")
	s, err := sqlite.OpenConfig(context.Background(), path, store.Options{}, sqlite.Config{Exclusive: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	return s
}
