package epbx_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay/drivertest"
	"github.com/ctirelay/ctirelay/relay/epbx"
	"github.com/ctirelay/ctirelay/relay/epbx/epbxfake"
)

// benchHub answers at once: what is measured is the driver, the SignalR
// client and the wire, not a switch model.
type benchHub struct{}

func (benchHub) Invoke(_ context.Context, c *epbxfake.Conn, method string, _ []json.RawMessage) (any, error) {
	if strings.EqualFold(method, "Iniciar") {
		c.Send("onInfoIntervaloRamal", map[string]string{"Ramal": c.User}, map[string]any{"RamalStatusDetalheId": 1, "Descricao": "Disponível", "Produtivo": true})
		c.Send("onLogado", map[string]string{"Ramal": c.User})
	}
	return nil, nil
}

// BenchmarkDriver500Agents: 500 agents logged on (500 connections, 500
// tokens renewed every 1.4 s on a 2 s lifetime), pausing and resuming in
// parallel (one hub invocation per command). Reports commands/s, the p99
// command round trip and the memory each connection takes (client and
// server ends both: the fake hub runs in the process).
//
//	go test ./relay/epbx/ -run '^$' -bench Driver500Agents -benchtime 20000x
func BenchmarkDriver500Agents(b *testing.B) {
	const agents = 500
	srv := epbxfake.New(epbxfake.Config{Hub: benchHub{}, TokenTTL: 2 * time.Second})
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	defer srv.Close()
	cfg := epbx.Config{BaseURL: hs.URL, Agents: map[string]epbx.Agent{}}
	logins := make([]string, agents)
	for i := range agents {
		logins[i] = fmt.Sprintf("agent%03d", i)
		cfg.Agents[logins[i]] = epbx.Agent{Username: logins[i], Password: "x", Logon: epbx.LogonRamalVirtual, Target: fmt.Sprint(7000 + i)}
	}
	d, err := epbx.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	if err := d.Open(context.Background(), &events{}); err != nil {
		b.Fatal(err)
	}
	before := heap()
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
		return
	}
	perConn := float64(heap()-before) / agents

	var next atomic.Int64
	lat := make([][]time.Duration, agents)
	b.ResetTimer()
	start := time.Now()
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
	elapsed := time.Since(start)
	b.StopTimer()
	all := slices.Concat(lat...)
	slices.Sort(all)
	if len(all) > 0 {
		b.ReportMetric(float64(len(all))/elapsed.Seconds(), "cmds/s")
		b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-µs")
		b.ReportMetric(float64(all[len(all)/2].Microseconds()), "p50-µs")
	}
	b.ReportMetric(perConn, "B/conn")
	st := srv.Stats()
	b.ReportMetric(float64(st.RefreshGrants+st.PasswordGrants-agents), "renewals")
}

// heap is the memory in use after a collection: heap and goroutine stacks.
func heap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}

// BenchmarkRoundTrip: one agent's commands one after another, as the engine
// sends them (one at a time per login): the unloaded round trip of a
// command through the driver, the SignalR client and the hub on loopback.
//
//	go test ./relay/epbx/ -run '^$' -bench RoundTrip -benchtime 5000x
func BenchmarkRoundTrip(b *testing.B) {
	srv := epbxfake.New(epbxfake.Config{Hub: benchHub{}})
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	defer srv.Close()
	d, err := epbx.New(epbx.Config{BaseURL: hs.URL, Agents: map[string]epbx.Agent{"jose": {Username: "jose", Password: "x", Logon: epbx.LogonIdPa, Target: "1"}}})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	if err := d.Open(context.Background(), &events{}); err != nil {
		b.Fatal(err)
	}
	if _, err := d.Execute(context.Background(), drivertest.Command(b, "<jose><L><ON>$")); err != nil {
		b.Fatal(err)
	}
	pause, resume := drivertest.Command(b, "<jose><P><ON><1>$"), drivertest.Command(b, "<jose><P><OFF>$")
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	cpu0 := cpuTime()
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
	cpu := cpuTime() - cpu0
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/cmd")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
}

// BenchmarkDriver500AgentsPaced: the load. 500 agents logged on
// (500 connections, 500 tokens renewed every 1.4 s on a 2 s lifetime),
// 5,000 commands a second offered in all (5 every millisecond, round robin,
// so each agent sends 10 a second, one at a time as the engine does).
// Reports the rate achieved, the invocation round trip (p50, p99, max), how
// late the pacer was, and the CPU time per command (client and fake server
// together: both run in the process).
//
// The ttl=10m case has EPBX's default token lifetime: no renewal during
// the run, so it shows what the commands alone cost.
//
//	go test ./relay/epbx/ -run '^$' -bench Driver500AgentsPaced -benchtime 25000x
func BenchmarkDriver500AgentsPaced(b *testing.B) {
	for _, ttl := range []time.Duration{2 * time.Second, 10 * time.Minute} {
		b.Run("ttl="+strings.TrimSuffix(strings.TrimSuffix(ttl.String(), "0s"), "m0"), func(b *testing.B) { benchPaced(b, ttl) })
	}
}

func benchPaced(b *testing.B, ttl time.Duration) {
	const agents, perTick = 500, 5
	srv := epbxfake.New(epbxfake.Config{Hub: benchHub{}, TokenTTL: ttl})
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	defer srv.Close()
	cfg := epbx.Config{BaseURL: hs.URL, Agents: map[string]epbx.Agent{}}
	logins := make([]string, agents)
	for i := range agents {
		logins[i] = fmt.Sprintf("agent%03d", i)
		cfg.Agents[logins[i]] = epbx.Agent{Username: logins[i], Password: "x", Logon: epbx.LogonRamalVirtual, Target: fmt.Sprint(7000 + i)}
	}
	d, err := epbx.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	if err := d.Open(context.Background(), &events{}); err != nil {
		b.Fatal(err)
	}
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
		return
	}
	// One goroutine per agent takes its commands in order; a full queue
	// (the agent still busy with ten before) would show as lateness.
	queues := make([]chan time.Time, agents)
	lat := make([][]time.Duration, agents)
	late := make([][]time.Duration, agents)
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
	b.ResetTimer()
	cpu0, start := cpuTime(), time.Now()
	tick := time.NewTicker(time.Millisecond)
	next := 0
	for next < b.N {
		now := <-tick.C
		// Catch up on ticks the pacer missed: the offered rate stays 5,000/s.
		due := int(time.Since(start)/time.Millisecond+1) * perTick
		for ; next < b.N && next < due; next++ {
			queues[next%agents] <- now
		}
	}
	tick.Stop()
	for _, q := range queues {
		close(q)
	}
	wg.Wait()
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	b.StopTimer()
	all, lateAll := slices.Concat(lat...), slices.Concat(late...)
	slices.Sort(all)
	slices.Sort(lateAll)
	if len(all) > 0 {
		b.ReportMetric(float64(len(all))/elapsed.Seconds(), "cmds/s")
		b.ReportMetric(float64(all[len(all)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-µs")
		b.ReportMetric(float64(all[len(all)-1].Microseconds()), "max-µs")
		b.ReportMetric(float64(lateAll[len(lateAll)*99/100].Microseconds()), "late-p99-µs")
		b.ReportMetric(float64(cpu.Microseconds())/float64(len(all)), "cpu-µs/cmd")
	}
	b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "gomaxprocs")
	st := srv.Stats()
	b.ReportMetric(float64(st.RefreshGrants+st.PasswordGrants-agents), "renewals")
}
