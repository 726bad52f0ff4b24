// Command peerbench runs `ctirelay bench` and its peers (River on
// PostgreSQL and on SQLite, a pgmq-style pure-SQL consumer) through the same
// workloads, alternately, in pairs, and prints each pair's ratio and the
// median with the load average and the CPU each run took (the system under
// test, the database's processes, everything else on the machine).
//
// It is a module of its own so the relay's module never depends on River:
//
//	go build -o /tmp/ctirelay ./cmd/ctirelay
//	cd cmd/peerbench && go run . --ctirelay /tmp/ctirelay --pg postgres://… --sqlite-dir /tmp/pb
//
// Each run is a child process (this program re-executed with a worker
// name, or ctirelay bench) so its CPU is its own. See docs/performance.md.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// result is what a child prints: one JSON object on its last line.
type result struct {
	PerSecond float64 `json:"per_s"`
	StartP50  float64 `json:"start_p50_ms,omitempty"` // insert → dispatch / work started
	StartP99  float64 `json:"start_p99_ms,omitempty"`
	DoneP50   float64 `json:"done_p50_ms,omitempty"` // insert → reply / completed
	DoneP99   float64 `json:"done_p99_ms,omitempty"`
}

// measured is one run: the child's result, its CPU, the database's, the rest.
type measured struct {
	result
	Load                 string
	CPUSelf, CPUDB, Rest float64 // seconds
	Wall                 float64
}

type options struct {
	ctirelay  string
	pg        string
	sqliteDir string
	n         int
	agents    int
	rate      float64
	duration  time.Duration
	pairs     int
	workloads string
}

func main() {
	if len(os.Args) > 1 && !strings.HasPrefix(os.Args[1], "-") {
		if err := worker(os.Args[1], os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "peerbench", os.Args[1]+":", err)
			os.Exit(1)
		}
		return
	}
	var o options
	flag.StringVar(&o.ctirelay, "ctirelay", "ctirelay", "the ctirelay binary (go build -o /tmp/ctirelay ./cmd/ctirelay at the repository root)")
	flag.StringVar(&o.pg, "pg", os.Getenv("PEERBENCH_PG"), "PostgreSQL DSN (postgres://…); empty skips the PostgreSQL workloads")
	flag.StringVar(&o.sqliteDir, "sqlite-dir", "", "directory for the SQLite workloads' throwaway files; empty skips them")
	flag.IntVar(&o.n, "n", 20000, "burn-down: jobs preloaded")
	flag.IntVar(&o.agents, "agents", 1000, "ctirelay agents; River MaxWorkers")
	flag.Float64Var(&o.rate, "rate", 1000, "offered rate of the latency workload (per second)")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "how long the latency workload offers")
	flag.IntVar(&o.pairs, "pairs", 3, "pairs of runs per workload (at least 3 for a median worth reading)")
	flag.StringVar(&o.workloads, "workloads", "pg-burn,pgmq,pg-rate,sqlite-burn", "workloads to run, comma-separated")
	flag.Parse()
	if err := compare(o); err != nil {
		fmt.Fprintln(os.Stderr, "peerbench:", err)
		os.Exit(1)
	}
}

// workload is ctirelay's command and its peer's for one comparison.
type workload struct {
	name, peer string
	relay      []string // ctirelay arguments
	peerArgs   []string // this program's worker and arguments
	metrics    []metric
	jobs       float64 // jobs per run, for the CPU per job
}

// metric is one figure compared; lower says a lower value is better.
type metric struct {
	name  string
	get   func(result) float64
	lower bool
}

var (
	throughput = metric{"per s", func(r result) float64 { return r.PerSecond }, false}
	startP50   = metric{"insert→start p50 ms", func(r result) float64 { return r.StartP50 }, true}
	startP99   = metric{"insert→start p99 ms", func(r result) float64 { return r.StartP99 }, true}
	doneP50    = metric{"insert→done p50 ms", func(r result) float64 { return r.DoneP50 }, true}
	doneP99    = metric{"insert→done p99 ms", func(r result) float64 { return r.DoneP99 }, true}
)

func compare(o options) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	n, agents := fmt.Sprint(o.n), fmt.Sprint(o.agents)
	var all []workload
	if o.pg != "" {
		all = append(all,
			workload{name: "pg-burn", peer: "River (pgx)", relay: []string{"bench", "--db", o.pg, "-n", n, "--agents", agents, "--floor=false", "--json"},
				peerArgs: []string{"river-burn", "-pg", o.pg, "-n", n, "-workers", agents}, metrics: []metric{throughput}, jobs: float64(o.n)},
			workload{name: "pgmq", peer: "pgmq-style SQL (read 1000 SKIP LOCKED, delete)", relay: []string{"bench", "--db", o.pg, "-n", n, "--agents", agents, "--floor=false", "--json"},
				peerArgs: []string{"pgmq-burn", "-pg", o.pg, "-n", n}, metrics: []metric{throughput}, jobs: float64(o.n)},
			workload{name: "pg-rate", peer: "River (pgx)", relay: []string{"bench", "--db", o.pg, "--rate", fmt.Sprint(o.rate), "--duration", o.duration.String(), "--agents", agents, "--json"},
				peerArgs: []string{"river-rate", "-pg", o.pg, "-rate", fmt.Sprint(o.rate), "-duration", o.duration.String(), "-workers", agents},
				metrics:  []metric{startP50, startP99, doneP50, doneP99}, jobs: o.rate * o.duration.Seconds()})
	}
	if o.sqliteDir != "" {
		if err := os.MkdirAll(o.sqliteDir, 0o755); err != nil {
			return err
		}
		all = append(all, workload{name: "sqlite-burn", peer: "River (riversqlite)",
			relay:    []string{"bench", "--db", "sqlite:" + filepath.Join(o.sqliteDir, "relay.db"), "-n", n, "--agents", agents, "--floor=false", "--json"},
			peerArgs: []string{"river-sqlite-burn", "-path", filepath.Join(o.sqliteDir, "river.db"), "-n", n, "-workers", agents}, metrics: []metric{throughput}, jobs: float64(o.n)})
	}
	want := strings.Split(o.workloads, ",")
	var dbPID int
	if o.pg != "" {
		dbPID = postmasterPID(o.pg)
	}
	fmt.Printf("peerbench: %d pairs per workload, n %d, agents/workers %d, rate %.0f/s for %s; %d CPUs\n",
		o.pairs, o.n, o.agents, o.rate, o.duration, cpus())
	fmt.Println("every figure is from this run on this machine: only the ratios of a pair mean anything on a shared host")
	for _, w := range all {
		if !slices.Contains(want, w.name) {
			continue
		}
		fmt.Printf("\n## %s: ctirelay vs %s\n", w.name, w.peer)
		fmt.Println("pair  system    load (1 5 15)      figures; CPU seconds of the run (its process, the database's, the rest of the machine), its preload included")
		ratios := make([][]float64, len(w.metrics))
		for p := 1; p <= o.pairs; p++ {
			// Alternate who goes first: a host getting busier favours neither.
			order := []bool{true, false}
			if p%2 == 0 {
				order = []bool{false, true}
			}
			var rel, peer measured
			for _, relayFirst := range order {
				var m measured
				var err error
				if relayFirst {
					m, err = runChild(dbPID, o.ctirelay, w.relay, fromBench)
					rel = m
				} else {
					m, err = runChild(dbPID, self, w.peerArgs, fromWorker)
					peer = m
				}
				if err != nil {
					return fmt.Errorf("%s pair %d: %w", w.name, p, err)
				}
			}
			for _, s := range []struct {
				name string
				m    measured
			}{{"ctirelay", rel}, {"peer", peer}} {
				var figs []string
				for _, mt := range w.metrics {
					figs = append(figs, fmt.Sprintf("%s %.1f", mt.name, mt.get(s.m.result)))
				}
				fmt.Printf("%-5d %-9s %-16s %s  cpu %.2fs db %.2fs rest %.2fs wall %.1fs; %.0f µs cpu+db per job\n", p, s.name, s.m.Load, strings.Join(figs, ", "),
					s.m.CPUSelf, s.m.CPUDB, s.m.Rest, s.m.Wall, (s.m.CPUSelf+s.m.CPUDB)/w.jobs*1e6)
			}
			for i, mt := range w.metrics {
				if pv := mt.get(peer.result); pv > 0 {
					ratios[i] = append(ratios[i], mt.get(rel.result)/pv)
				}
			}
		}
		for i, mt := range w.metrics {
			r := ratios[i]
			better := "higher is better for ctirelay"
			if mt.lower {
				better = "lower is better for ctirelay"
			}
			fmt.Printf("ratio ctirelay/peer, %s: %s; median %.2f (%s)\n", mt.name, fmtList(r), median(r), better)
		}
	}
	return nil
}

// fromBench reads ctirelay bench --json.
func fromBench(out []byte) (result, error) {
	var rep struct {
		Runs []struct {
			PerSecond float64 `json:"commands_per_s"`
			Dispatch  *struct {
				P50 float64 `json:"p50_ms"`
				P99 float64 `json:"p99_ms"`
			} `json:"insert_to_dispatch"`
			Reply *struct {
				P50 float64 `json:"p50_ms"`
				P99 float64 `json:"p99_ms"`
			} `json:"insert_to_reply"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(out, &rep); err != nil || len(rep.Runs) == 0 {
		return result{}, fmt.Errorf("ctirelay bench output: %v: %.300s", err, out)
	}
	r := rep.Runs[0]
	res := result{PerSecond: r.PerSecond}
	if r.Dispatch != nil && r.Reply != nil {
		res.StartP50, res.StartP99, res.DoneP50, res.DoneP99 = r.Dispatch.P50, r.Dispatch.P99, r.Reply.P50, r.Reply.P99
	}
	return res, nil
}

// fromWorker reads a worker's last line.
func fromWorker(out []byte) (result, error) {
	lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
	var r result
	if err := json.Unmarshal(lines[len(lines)-1], &r); err != nil {
		return r, fmt.Errorf("worker output: %v: %.300s", err, out)
	}
	return r, nil
}

// runChild runs one measurement and accounts its CPU.
func runChild(dbPID int, bin string, args []string, parse func([]byte) (result, error)) (measured, error) {
	m := measured{Load: loadAverage()}
	db0 := treeCPU(dbPID)
	all0 := machineCPU()
	cmd := exec.Command(bin, args...)
	var out, errs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errs
	start := time.Now()
	err := cmd.Run()
	m.Wall = time.Since(start).Seconds()
	if err != nil {
		return m, fmt.Errorf("%s %s: %w\n%s", filepath.Base(bin), strings.Join(args[:1], " "), err, errs.String())
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		m.CPUSelf = tv(ru.Utime) + tv(ru.Stime)
	}
	m.CPUDB = treeCPU(dbPID) - db0
	m.Rest = max(machineCPU()-all0-m.CPUSelf-m.CPUDB, 0)
	m.result, err = parse(out.Bytes())
	return m, err
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func fmtList(v []float64) string {
	var s []string
	for _, x := range v {
		s = append(s, fmt.Sprintf("%.2f", x))
	}
	return strings.Join(s, " ")
}

var errUsage = errors.New("usage: peerbench [flags] | peerbench river-burn|river-rate|pgmq-burn|river-sqlite-burn [flags]")
