package postgres_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

// BenchmarkReconcileDay measures the reconcile job on a day of one million
// journal rows (half commands, half their replies, 2000 agents) after a
// day as large it must skip: journal rows/s read and reported, measured,
// never asserted. Run briefly: -bench ReconcileDay -benchtime 1x;
// CTIRELAY_BENCH_RECONCILE_ROWS sets the day's size (the day is
// 10000000).
func BenchmarkReconcileDay(b *testing.B) {
	ctx := context.Background()
	s, dsn := migrated(b, store.Options{})
	db := rawDB(b, dsn)
	day := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	perDay := 1_000_000
	if n, err := strconv.Atoi(os.Getenv("CTIRELAY_BENCH_RECONCILE_ROWS")); err == nil && n > 0 {
		perDay = n
	}
	for _, start := range []time.Time{day.Add(-24 * time.Hour), day} {
		if _, err := db.Exec(`INSERT INTO relay_journal (at, direction, kind, agent, frame, origin, inbox_id, outcome, latency_us)
			SELECT $1::timestamptz + (i * 86400000000 / $2) * interval '1 microsecond',
			       CASE WHEN i % 2 = 0 THEN 'in' ELSE 'out' END,
			       CASE WHEN i % 2 = 0 THEN 'command' ELSE 'reply' END,
			       'ag' || ((i / 2) % 2000),
			       CASE WHEN i % 2 = 0 THEN '<ag><S>$' ELSE '<ag><S><1>$' END,
			       'erp', i / 2 + 1,
			       CASE WHEN i % 2 = 0 THEN NULL ELSE 'ok' END,
			       CASE WHEN i % 2 = 0 THEN NULL ELSE 1000 + i % 5000 END
			  FROM generate_series(0, $2 - 1) i`, start, perDay); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := db.Exec(`ANALYZE relay_journal`); err != nil {
		b.Fatal(err)
	}
	job := relay.ReconcileJob{Store: s, Dir: b.TempDir()}
	var rows float64
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		summary, err := job.Run(ctx, relay.RunInfo{Job: "reconcile", Slot: day.Add(25 * time.Hour), Location: time.UTC})
		if err != nil {
			b.Fatal(err)
		}
		if n := summary["journal_rows"].(int64); n != int64(perDay) {
			b.Fatalf("read %d rows of the day, want %d", n, perDay)
		}
		rows += float64(perDay)
	}
	b.ReportMetric(rows/time.Since(start).Seconds(), "journal_rows/s")
}
