package epbx_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay/drivertest"
	"github.com/ctirelay/ctirelay/relay/epbx"
)

// benchAgents opens a driver on the bench hub and logs agents on (32 at
// a time); report, called at the end (ResetTimer clears metrics), reports
// the memory each connection took at each end.
func benchAgents(b *testing.B, hub *benchHubRef, agents int) (d *epbx.Driver, logins []string, report func()) {
	b.Helper()
	cfg := epbx.Config{BaseURL: hub.URL, Agents: map[string]epbx.Agent{}}
	logins = make([]string, agents)
	for i := range agents {
		logins[i] = fmt.Sprintf("agent%03d", i)
		cfg.Agents[logins[i]] = epbx.Agent{Username: logins[i], Password: "x", Logon: epbx.LogonRamalVirtual, Target: fmt.Sprint(7000 + i)}
	}
	d, err := epbx.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = d.Close() })
	if err := d.Open(context.Background(), &events{}); err != nil {
		b.Fatal(err)
	}
	mem0, hub0, g0 := heap(), hub.probe(true), runtime.NumGoroutine()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for _, l := range logins {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if _, err := d.Execute(context.Background(), drivertest.Command(b, "<"+l+"><L><ON>$")); err != nil {
				b.Error(err)
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	mem1, hub1, g1 := heap(), hub.probe(true), runtime.NumGoroutine()
	if path := os.Getenv("CTIRELAY_BENCH_EPBX_HEAPPROFILE"); path != "" {
		// What the connections hold (go tool pprof -sample_index=inuse_space).
		if f, err := os.Create(path); err == nil {
			_ = pprof.WriteHeapProfile(f)
			_ = f.Close()
		}
	}
	perConn := func(before, after uint64) float64 { return (float64(after) - float64(before)) / float64(agents) }
	return d, logins, func() {
		if hub.where == "process" {
			b.ReportMetric(perConn(mem0, mem1), "client-B/conn")
			b.ReportMetric(perConn(uint64(g0), uint64(g1)), "client-goroutines/conn")
			b.ReportMetric(perConn(hub0.Mem, hub1.Mem), "hub-B/conn")
			b.ReportMetric(perConn(hub0.RSS, hub1.RSS), "hub-rss-B/conn")
		} else {
			b.ReportMetric(perConn(mem0, mem1), "both-ends-B/conn")
		}
	}
}

// benchReport reports the rate, the round trips, and the CPU time per
// command and the collections during the commands of each process.
func benchReport(b *testing.B, hub *benchHubRef, lat []time.Duration, elapsed, cpu time.Duration, hub0 hubProbe, gc0 uint32) {
	gcs := numGC() - gc0
	slices.Sort(lat)
	if len(lat) == 0 {
		return
	}
	n := float64(len(lat))
	b.ReportMetric(n/elapsed.Seconds(), "cmds/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(float64(lat[len(lat)*999/1000].Microseconds()), "p999-µs")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds()), "max-µs")
	hub1 := hub.probe(false)
	if hub.where == "process" {
		b.ReportMetric(float64(cpu.Microseconds())/n, "client-cpu-µs/cmd")
		b.ReportMetric(float64((hub1.CPU-hub0.CPU).Microseconds())/n, "hub-cpu-µs/cmd")
		b.ReportMetric(float64(gcs), "client-gcs")
		b.ReportMetric(float64(hub1.GCs-hub0.GCs), "hub-gcs")
	} else {
		b.ReportMetric(float64(cpu.Microseconds())/n, "both-cpu-µs/cmd")
		b.ReportMetric(float64(gcs), "both-gcs")
	}
	b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "gomaxprocs")
	b.ReportMetric(float64(hub1.Stats.RefreshGrants-hub0.Stats.RefreshGrants), "renewals")
}

// BenchmarkDriver500Agents: 500 agents logged on (500 connections, 500
// tokens renewed every 1.4 s on a 2 s lifetime), pausing and resuming in
// parallel (one hub invocation per command, 500 in flight). Reports
// commands/s, the command round trips and the memory each connection
// takes at each end.
//
//	go test ./relay/epbx/ -run '^$' -bench Driver500Agents -benchtime 20000x
func BenchmarkDriver500Agents(b *testing.B) {
	const agents = 500
	hub := startBenchHub(b, 2*time.Second)
	d, logins, memReport := benchAgents(b, hub, agents)
	var next atomic.Int64
	lat := make([][]time.Duration, agents)
	var wg sync.WaitGroup
	hub0, gc0 := hub.probe(false), numGC()
	b.ResetTimer()
	cpu0, start := cpuTime(), time.Now()
	for i, l := range logins {
		pause, resume := drivertest.Command(b, "<"+l+"><P><ON><1>$"), drivertest.Command(b, "<"+l+"><P><OFF>$")
		wg.Go(func() {
			for n := 0; next.Add(1) <= int64(b.N); n++ {
				cmd := pause
				if n%2 == 1 {
					cmd = resume
				}
				t0 := time.Now()
				if _, err := d.Execute(context.Background(), cmd); err != nil {
					b.Error(err)
					return
				}
				lat[i] = append(lat[i], time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	b.StopTimer()
	benchReport(b, hub, slices.Concat(lat...), elapsed, cpu, hub0, gc0)
	memReport()
}

// BenchmarkRoundTrip: one agent's commands one after another, as the engine
// sends them (one at a time per login): the unloaded round trip of a
// command through the driver, the SignalR client and the hub on loopback.
//
//	go test ./relay/epbx/ -run '^$' -bench RoundTrip -benchtime 5000x
func BenchmarkRoundTrip(b *testing.B) {
	hub := startBenchHub(b, 10*time.Minute)
	d, logins, _ := benchAgents(b, hub, 1)
	pause, resume := drivertest.Command(b, "<"+logins[0]+"><P><ON><1>$"), drivertest.Command(b, "<"+logins[0]+"><P><OFF>$")
	lat := make([]time.Duration, 0, b.N)
	hub0, gc0 := hub.probe(false), numGC()
	b.ResetTimer()
	cpu0, start := cpuTime(), time.Now()
	for i := range b.N {
		cmd := pause
		if i%2 == 1 {
			cmd = resume
		}
		t0 := time.Now()
		if _, err := d.Execute(context.Background(), cmd); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	b.StopTimer()
	benchReport(b, hub, lat, elapsed, cpu, hub0, gc0)
}

// BenchmarkDriver500AgentsPaced: the load. 500 agents logged on
// (500 connections, 500 tokens), 5,000 commands a second offered in all
// (5 every millisecond, round robin, so each agent sends 10 a second, one
// at a time as the engine does).
//
// The round trip (p50-µs … max-µs) runs from the agent's Execute call to
// its return: the invocation's write, the hub, the result, and the
// driver's own work around them. How late the pacer handed a command over
// (its due time to the Execute call: the harness's scheduling, not the
// driver's) is reported apart, as late-p50-µs and late-p99-µs.
//
// ttl=2s renews every token every 1.4 s (≈ 350 renewals a second on top
// of the commands); ttl=10m is EPBX's default lifetime (no renewal during
// the run).
//
//	go test ./relay/epbx/ -run '^$' -bench Driver500AgentsPaced -benchtime 25000x
func BenchmarkDriver500AgentsPaced(b *testing.B) {
	for _, ttl := range []time.Duration{2 * time.Second, 10 * time.Minute} {
		b.Run("ttl="+strings.TrimSuffix(strings.TrimSuffix(ttl.String(), "0s"), "m0"), func(b *testing.B) { benchPaced(b, ttl) })
	}
}

func benchPaced(b *testing.B, ttl time.Duration) {
	const agents, perTick = 500, 5
	hub := startBenchHub(b, ttl)
	d, logins, memReport := benchAgents(b, hub, agents)
	// One goroutine per agent takes its commands in order; a full queue
	// (the agent still busy with ten before) would show as lateness.
	queues := make([]chan time.Time, agents)
	lat := make([][]time.Duration, agents)
	late := make([][]time.Duration, agents)
	var wg sync.WaitGroup
	for i, l := range logins {
		queues[i] = make(chan time.Time, 64)
		pause, resume := drivertest.Command(b, "<"+l+"><P><ON><1>$"), drivertest.Command(b, "<"+l+"><P><OFF>$")
		wg.Go(func() {
			n := 0
			for due := range queues[i] {
				cmd := pause
				if n%2 == 1 {
					cmd = resume
				}
				n++
				t0 := time.Now()
				if _, err := d.Execute(context.Background(), cmd); err != nil {
					b.Error(err)
				}
				lat[i] = append(lat[i], time.Since(t0))
				late[i] = append(late[i], t0.Sub(due))
			}
		})
	}
	hub0, gc0 := hub.probe(false), numGC()
	b.ResetTimer()
	cpu0, start := cpuTime(), time.Now()
	tick := time.NewTicker(time.Millisecond)
	next := 0
	for next < b.N {
		<-tick.C
		// Each command is due at its own millisecond from the start, and a
		// tick the pacer missed is caught up on: the offered rate stays
		// 5,000/s, and lateness counts from when it was due.
		due := int(time.Since(start)/time.Millisecond+1) * perTick
		for ; next < b.N && next < due; next++ {
			queues[next%agents] <- start.Add(time.Duration(next/perTick) * time.Millisecond)
		}
	}
	tick.Stop()
	for _, q := range queues {
		close(q)
	}
	wg.Wait()
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	b.StopTimer()
	lateAll := slices.Concat(late...)
	slices.Sort(lateAll)
	benchReport(b, hub, slices.Concat(lat...), elapsed, cpu, hub0, gc0)
	memReport()
	if len(lateAll) > 0 {
		b.ReportMetric(float64(lateAll[len(lateAll)/2].Microseconds()), "late-p50-µs")
		b.ReportMetric(float64(lateAll[len(lateAll)*99/100].Microseconds()), "late-p99-µs")
	}
}
