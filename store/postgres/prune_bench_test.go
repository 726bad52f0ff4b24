package postgres_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

// BenchmarkPruneWhileCommandsFlow measures what the retention job's journal
// pruning costs the relay: an op is 100 commands through Enqueue, Claim and
// Settle (two journal rows each) on a journal of 2 million old rows, alone
// and while Prune deletes the old rows in batches of 10000 beside it, with
// no pause between batches and with jobs.retention.pause. It reports the
// pruning's rows/s; compare the ns/op (measured, never asserted) with the
// spread of the unpruned runs (-count). Run briefly:
// -bench PruneWhile -benchtime 30x -count 3.
func BenchmarkPruneWhileCommandsFlow(b *testing.B) {
	for _, v := range []struct {
		name    string
		pruning bool
		pause   time.Duration
	}{{"pruning=off", false, 0}, {"pruning=on/pause=0s", true, 0}, {"pruning=on/pause=200ms", true, 200 * time.Millisecond}} {
		pruning := v.pruning
		b.Run(v.name, func(b *testing.B) {
			ctx := context.Background()
			s, dsn := migrated(b, store.Options{})
			db := rawDB(b, dsn)
			const old = 2_000_000
			if _, err := db.Exec(`INSERT INTO relay_journal (at, direction, kind, agent, frame, origin)
				SELECT timestamptz '2020-01-01' + i * interval '1 millisecond', 'in', 'command', 'ag' || (i % 500), '<ag><S>$', 'cli'
				  FROM generate_series(1, $1) i`, old); err != nil {
				b.Fatal(err)
			}
			if _, err := db.Exec(`ANALYZE relay_journal`); err != nil {
				b.Fatal(err)
			}
			now := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
			var pruned atomic.Int64
			stop := make(chan struct{})
			var wg sync.WaitGroup
			var pruneTime time.Duration
			if pruning {
				wg.Go(func() {
					start := time.Now()
					defer func() { pruneTime = time.Since(start) }()
					for {
						select {
						case <-stop:
							return
						default:
						}
						n, err := s.Prune(ctx, relay.PruneJournal, now.Add(-24*time.Hour), 10_000)
						if err != nil {
							b.Error(err)
							return
						}
						pruned.Add(int64(n))
						if n < 10_000 {
							return
						}
						select {
						case <-stop:
							return
						case <-time.After(v.pause):
						}
					}
				})
			}
			msgs := make([]relay.Inbound, 100)
			k := 0
			b.ResetTimer()
			for b.Loop() {
				for i := range msgs {
					msgs[i] = relay.Inbound{Source: relay.SourceCLI, Ref: "b", Raw: fmt.Sprintf("<ag%d><S>$", k%500)}
					k++
				}
				if _, err := s.Enqueue(ctx, msgs, now, 0); err != nil {
					b.Fatal(err)
				}
				jobs, err := s.Claim(ctx, relay.ClaimRequest{Owner: "bench", Limit: len(msgs), Now: now, LeaseUntil: now.Add(time.Minute)})
				if err != nil {
					b.Fatal(err)
				}
				out := make([]relay.Outcome, len(jobs))
				for i, j := range jobs {
					out[i] = relay.Outcome{Job: j, Kind: relay.Done, Replies: []relay.Frame{relay.OK(j.Agent)}}
				}
				if _, _, err := s.Settle(ctx, out, now, relay.ClaimRequest{}); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			close(stop)
			wg.Wait()
			if pruning && pruneTime > 0 {
				b.ReportMetric(float64(pruned.Load())/pruneTime.Seconds(), "pruned_rows/s")
				b.ReportMetric(float64(pruned.Load()), "pruned_rows")
			}
		})
	}
}

// BenchmarkPruneWholeJournal prunes a journal of 2 million old rows to the
// end in batches of 10000, reporting the rate of the first and the last
// quarter: batches read from the primary key's start, where the rows the
// earlier batches deleted lie until vacuum, so a rate that fell would show
// it. Run once: -bench PruneWhole -benchtime 1x; CTIRELAY_BENCH_PRUNE_ROWS
// sets the journal's size (2000000), to see whether the rate holds as it
// grows.
func BenchmarkPruneWholeJournal(b *testing.B) {
	ctx := context.Background()
	s, dsn := migrated(b, store.Options{})
	db := rawDB(b, dsn)
	const batch = 10_000
	old := 2_000_000
	if n, err := strconv.Atoi(os.Getenv("CTIRELAY_BENCH_PRUNE_ROWS")); err == nil && n >= 4*batch {
		old = n
	}
	for b.Loop() {
		b.StopTimer()
		if _, err := db.Exec(`INSERT INTO relay_journal (at, direction, kind, agent, frame, origin)
			SELECT timestamptz '2020-01-01' + i * interval '1 millisecond', 'in', 'command', 'ag', '<ag><S>$', 'cli'
			  FROM generate_series(1, $1) i`, old); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		cut := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		var quarters []float64
		total, qStart, qRows := 0, time.Now(), 0
		for {
			n, err := s.Prune(ctx, relay.PruneJournal, cut, batch)
			if err != nil {
				b.Fatal(err)
			}
			total, qRows = total+n, qRows+n
			if qRows >= old/4 || n < batch {
				quarters = append(quarters, float64(qRows)/time.Since(qStart).Seconds())
				qStart, qRows = time.Now(), 0
			}
			if n < batch {
				break
			}
		}
		if total != old {
			b.Fatalf("pruned %d, want %d", total, old)
		}
		b.ReportMetric(quarters[0], "first_quarter_rows/s")
		b.ReportMetric(quarters[len(quarters)-2], "last_quarter_rows/s")
	}
}
