package spool

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/internal/pgtest"
	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest"
	"github.com/ctirelay/ctirelay/store"
	"github.com/ctirelay/ctirelay/store/postgres"
	"github.com/ctirelay/ctirelay/store/sqlite"
)

// BenchmarkSpool: 1,000 users each drop a request file (temp + rename);
// reported are request files per second and the p99 from the file renamed
// into Tx to its answer renamed into Rx, with scan_interval 10ms.
//
//	go test ./bridges/file -run '^$' -bench Spool -benchtime 3x
func BenchmarkSpool(b *testing.B) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		b.Run(dialect, func(b *testing.B) {
			ctx := context.Background()
			var st relay.Store
			switch dialect {
			case "sqlite":
				s, err := sqlite.OpenConfig(ctx, filepath.Join(b.TempDir(), "b.db"), store.Options{}, sqlite.Config{Exclusive: true})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := s.Migrate(ctx); err != nil {
					b.Fatal(err)
				}
				st = s
			default:
				s, err := postgres.Open(ctx, pgtest.DSN(b), store.Options{})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := s.Migrate(ctx); err != nil {
					b.Fatal(err)
				}
				st = s
			}
			defer st.Close()
			for _, pace := range []time.Duration{0, time.Millisecond} {
				name := "burst"
				if pace > 0 {
					name = "paced-1000-per-s"
				}
				b.Run(name, func(b *testing.B) { benchSpool(b, st, pace) })
			}
		})
	}
}

// benchSpool drops one request per user, all at once (pace 0: files/s is
// the bridge's throughput, p99 the time to drain the burst) or one every
// pace (the latency at that offered rate), and reads the answers as
// SIGACTI does.
func benchSpool(b *testing.B, st relay.Store, pace time.Duration) {
	const users = 1000
	tx, rx := b.TempDir(), b.TempDir()
	feed, err := relay.NewFeed(relay.FeedConfig{Store: st, PollInterval: 5 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	engine, err := relay.NewEngine(relay.EngineConfig{Node: "bench", SoleRelay: true, Store: st, Driver: &relaytest.Driver{},
		PollInterval: 5 * time.Millisecond, Committed: feed.Wake})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := feed.Start(ctx); err != nil {
		b.Fatal(err)
	}
	if err := engine.Start(ctx); err != nil {
		b.Fatal(err)
	}
	br, err := New(Config{TxDir: tx, RxDir: rx, ScanInterval: 10 * time.Millisecond, Feed: feed, Store: st, OnStart: OnStartIngest})
	if err != nil {
		b.Fatal(err)
	}
	if err := br.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer func() { br.Quiesce(); engine.Stop(); feed.Stop(); br.Stop() }()
	var lat []time.Duration
	b.ResetTimer()
	cpu0 := cpuTime()
	start := time.Now()
	for range b.N {
		var mu sync.Mutex
		written := make(map[string]time.Time, users)
		go func() {
			next := time.Now()
			for u := range users {
				if pace > 0 {
					next = next.Add(pace)
					time.Sleep(time.Until(next))
				}
				name := fmt.Sprintf("%06d", u)
				tmp := filepath.Join(tx, name+".tmp")
				if err := os.WriteFile(tmp, []byte(fmt.Sprintf("<agent%04d><S>$", u)), 0o644); err != nil {
					panic(err)
				}
				if err := os.Rename(tmp, filepath.Join(tx, name+Ext)); err != nil {
					panic(err)
				}
				mu.Lock()
				written[name] = time.Now()
				mu.Unlock()
			}
		}()
		deadline := time.Now().Add(time.Minute)
		for answered := 0; answered < users; {
			if time.Now().After(deadline) {
				b.Fatalf("%d answers missing", users-answered)
			}
			ents, _ := os.ReadDir(rx)
			for _, e := range ents {
				n := e.Name()
				if !strings.HasSuffix(n, Ext) {
					continue
				}
				u := strings.TrimSuffix(n, Ext)
				mu.Lock()
				if at, ok := written[u]; ok {
					lat = append(lat, time.Since(at))
					delete(written, u)
					answered++
				}
				mu.Unlock()
				os.Remove(filepath.Join(rx, n))
			}
			time.Sleep(time.Millisecond)
		}
	}
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	b.StopTimer()
	// The whole process's CPU (bridge, engine, feed, the store's driver,
	// SQLite itself, and this writer and reader): evidence that does not
	// depend on how loaded the shared host is. PostgreSQL's own CPU is in
	// its server processes, not here.
	b.ReportMetric(float64(cpu.Microseconds())/float64(users*b.N), "cpu-us/file")
	slices.Sort(lat)
	b.ReportMetric(float64(users*b.N)/elapsed.Seconds(), "files/s")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
}

// BenchmarkScanUnrelated is one scan of a Tx holding 10,000 files that are
// not requests (logged once, then only listed): "listed" lists Tx each
// time (as when requests come and go), "unchanged" is the scan of an idle
// Tx, which trusts its modification time.
//
//	go test ./bridges/file -run '^$' -bench ScanUnrelated -benchtime 300x
func BenchmarkScanUnrelated(b *testing.B) {
	tx, rx := b.TempDir(), b.TempDir()
	for i := range 10_000 {
		if err := os.WriteFile(filepath.Join(tx, fmt.Sprintf("other-%05d.txt", i)), nil, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	for _, listed := range []bool{true, false} {
		name := "listed"
		if !listed {
			name = "unchanged"
		}
		b.Run(name, func(b *testing.B) {
			br, err := New(Config{TxDir: tx, RxDir: rx, Feed: &relay.Feed{}, Store: nilStore{}})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			br.scan(ctx)
			b.ResetTimer()
			cpu0 := cpuTime()
			for range b.N {
				if listed {
					br.quiet = quietTx{}
				}
				br.scan(ctx)
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/scan")
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/scan")
		})
	}
}

type nilStore struct{ Store }

// BenchmarkWriteAnswers is one round of the writer for 1,000 users with an
// answer each: temporary file, fsync, no-replace rename, then the Rx
// directory's fsync (the store's cursor save is left out).
//
//	go test ./bridges/file -run '^$' -bench WriteAnswers -benchtime 5x
func BenchmarkWriteAnswers(b *testing.B) {
	const users = 1000
	tx, rx := b.TempDir(), b.TempDir()
	br, err := New(Config{TxDir: tx, RxDir: rx, Feed: &relay.Feed{}, Store: cursorSink{}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var files time.Duration
	b.ResetTimer()
	cpu0 := cpuTime()
	for range b.N {
		br.mu.Lock()
		for u := range users {
			x := br.userLocked(fmt.Sprintf("%06d", u))
			x.pending = []answer{{id: int64(u + 1), frame: relay.StatusReply(fmt.Sprintf("agent%04d", u), relay.StateAvailable)}}
		}
		br.mu.Unlock()
		t0 := time.Now()
		br.writeAnswers(ctx, true)
		files += time.Since(t0)
		b.StopTimer()
		ents, _ := os.ReadDir(rx)
		if len(ents) != users {
			b.Fatalf("%d files in Rx, want %d", len(ents), users)
		}
		for _, e := range ents {
			os.Remove(filepath.Join(rx, e.Name()))
		}
		b.StartTimer()
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(users*b.N), "cpu-us/file")
	b.ReportMetric(float64(files.Microseconds())/float64(users*b.N), "us/file")
}

// cursorSink takes cursors and drops them.
type cursorSink struct{ Store }

func (cursorSink) AdvanceCursors(context.Context, []relay.Cursor, time.Time) error { return nil }
