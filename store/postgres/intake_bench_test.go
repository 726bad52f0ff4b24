package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
	"github.com/ctirelay/ctirelay/store/postgres"
)

// BenchmarkIntakeFewRows times intakes of a few rows, as at 1000/s offered,
// leasing what they take: the fast path and the locked intake alternate,
// one intake each per iteration, so both meet the same load on a shared
// host. It reports each one's microseconds per intake and statements per
// intake is what tells them apart: 2 against 4.
func BenchmarkIntakeFewRows(b *testing.B) {
	for _, rows := range []int{1, 10, 500} {
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) {
			ctx := context.Background()
			s, dsn := migrated(b, store.Options{})
			db := rawDB(b, dsn)
			now := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
			var took [2]time.Duration
			n := 0
			for b.Loop() {
				for mode := range 2 {
					var insert strings.Builder
					insert.WriteString("INSERT INTO T_TTI (DS_TTI) VALUES ")
					for i := range rows {
						if i > 0 {
							insert.WriteByte(',')
						}
						fmt.Fprintf(&insert, "('<ag%d><P><ON><%d>$')", n%1000, n)
						n++
					}
					if _, err := db.Exec(insert.String()); err != nil {
						b.Fatal(err)
					}
					postgres.SetFastIntake(s, mode == 0)
					t0 := time.Now()
					got, jobs, err := s.Intake(ctx, relay.IntakeRequest{Limit: 1000, Now: now, MaxInbox: 3000},
						relay.ClaimRequest{Owner: "bench", Limit: 1000, Now: now, LeaseUntil: now.Add(time.Minute)})
					took[mode] += time.Since(t0)
					if err != nil || got != rows {
						b.Fatalf("Intake = %d, %v", got, err)
					}
					outcomes := make([]relay.Outcome, len(jobs))
					for i, j := range jobs {
						outcomes[i] = relay.Outcome{Job: j, Kind: relay.Done, Replies: []relay.Frame{relay.OK(j.Agent)}}
					}
					if _, _, err := s.Settle(ctx, outcomes, now, relay.ClaimRequest{}); err != nil {
						b.Fatal(err)
					}
				}
			}
			per := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(b.N) }
			b.ReportMetric(per(took[0]), "fast-µs/intake")
			b.ReportMetric(per(took[1]), "locked-µs/intake")
		})
	}
}
