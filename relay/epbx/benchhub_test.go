package epbx_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	osexec "os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay/epbx/epbxfake"
)

// The benchmarks' fake hub runs in a child process (this test binary run
// again with benchHubEnv set) unless CTIRELAY_BENCH_EPBX_INPROC=1: in one
// process the two ends share one scheduler and one collector, and the
// hub's work and garbage land in the driver's latency and CPU figures.
const (
	benchHubEnv    = "CTIRELAY_BENCH_EPBX_HUB" // the child: the token TTL to serve
	benchInprocEnv = "CTIRELAY_BENCH_EPBX_INPROC"
)

func init() {
	if ttl := os.Getenv(benchHubEnv); ttl != "" {
		serveBenchHub(ttl)
		os.Exit(0)
	}
}

// hubProbe is what the hub's process reports of itself.
type hubProbe struct {
	Stats epbxfake.Stats
	Mem   uint64 // heap and goroutine stacks in use after a collection
	RSS   uint64
	CPU   time.Duration // the process's user and system time so far
	GCs   uint32        // collections so far
}

func probeSelf() hubProbe {
	return hubProbe{Mem: heap(), RSS: rss(), CPU: cpuTime()}
}

func numGC() uint32 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.NumGC
}

// serveBenchHub is the child: it prints its address, serves until its
// standard input closes (the parent gone), and answers GET /_bench/probe.
func serveBenchHub(ttl string) {
	d, err := time.ParseDuration(ttl)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench hub:", err)
		os.Exit(2)
	}
	srv := epbxfake.New(epbxfake.Config{Hub: benchHub{}, TokenTTL: d})
	mux := http.NewServeMux()
	mux.Handle("/", srv.Handler())
	mux.HandleFunc("GET /_bench/probe", func(w http.ResponseWriter, r *http.Request) {
		var p hubProbe
		if r.URL.Query().Has("mem") { // collects: not during the commands
			p = probeSelf()
		}
		p.CPU, p.GCs, p.Stats = cpuTime(), numGC(), srv.Stats()
		_ = json.NewEncoder(w).Encode(p)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench hub:", err)
		os.Exit(2)
	}
	go func() { _ = http.Serve(ln, mux) }()
	fmt.Println("http://" + ln.Addr().String())
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// benchHubRef is the fake hub a benchmark runs against.
type benchHubRef struct {
	URL   string
	probe func(mem bool) hubProbe
	where string // "process" or "inproc"
}

func startBenchHub(b *testing.B, ttl time.Duration) *benchHubRef {
	b.Helper()
	if os.Getenv(benchInprocEnv) == "1" {
		srv := epbxfake.New(epbxfake.Config{Hub: benchHub{}, TokenTTL: ttl})
		hs := httptest.NewServer(srv.Handler())
		b.Cleanup(func() { hs.Close(); srv.Close() })
		return &benchHubRef{URL: hs.URL, where: "inproc", probe: func(bool) hubProbe {
			return hubProbe{Stats: srv.Stats()} // the process is shared: no separate figures
		}}
	}
	cmd := osexec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), benchHubEnv+"="+ttl.String())
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = stdin.Close(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		b.Fatalf("bench hub: %v", err)
	}
	url := strings.TrimSpace(line)
	return &benchHubRef{URL: url, where: "process", probe: func(mem bool) hubProbe {
		var p hubProbe
		q := ""
		if mem {
			q = "?mem=1"
		}
		resp, err := http.Get(url + "/_bench/probe" + q)
		if err != nil {
			b.Errorf("bench hub probe: %v", err)
			return p
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
			b.Errorf("bench hub probe: %v", err)
		}
		return p
	}}
}

// heap is the memory in use after a collection: heap and goroutine stacks.
func heap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}

// rss is the process's resident set (Linux; 0 elsewhere).
func rss() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

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
