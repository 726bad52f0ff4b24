package httpbridge

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/internal/pgtest"
	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest"
	"github.com/ctirelay/ctirelay/store"
	"github.com/ctirelay/ctirelay/store/postgres"
)

// benchRelay is an engine on PostgreSQL with a switch answering at once,
// its feed, and the HTTP bridge on it.
type benchRelay struct {
	store *postgres.Store
	feed  *relay.Feed
	b     *Bridge
	base  string
}

func newBenchRelay(b *testing.B, hooks []WebhookConfig) *benchRelay {
	b.Helper()
	s, err := postgres.Open(context.Background(), pgtest.DSN(b), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	fc := relay.FeedConfig{Store: s, Wakeups: s.JournalWakeups()}
	feed, err := relay.NewFeed(fc)
	if err != nil {
		b.Fatal(err)
	}
	e, err := relay.NewEngine(relay.EngineConfig{Node: "bench", Store: s, Driver: &relaytest.Driver{}, MaxInFlight: 256,
		PollInterval: 10 * time.Millisecond, Committed: feed.Wake})
	if err != nil {
		b.Fatal(err)
	}
	if err := feed.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	// CTIRELAY_BENCH_SSE_COALESCE=-1ns writes each SSE event at once, for
	// comparison with the default coalescing.
	coalesce, _ := time.ParseDuration(os.Getenv("CTIRELAY_BENCH_SSE_COALESCE"))
	br, err := New(Config{Addr: "127.0.0.1:0", Store: s, Feed: feed, Webhooks: hooks, StreamCoalesce: coalesce})
	if err != nil {
		b.Fatal(err)
	}
	if err := br.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		br.Quiesce()
		e.Stop()
		feed.Stop()
		br.Stop()
	})
	return &benchRelay{store: s, feed: feed, b: br, base: "http://" + br.ListenAddr().String()}
}

func benchClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1024, MaxConnsPerHost: 0}}
}

// BenchmarkPostCommandsWait: 64 clients, each an agent of its own, POST one
// command with ?wait= at a time; beside it the same through feed.Submit
// and Wait (what `ctirelay send` does), for the HTTP overhead.
//
// clients=1 (at most 300 commands) measures the added latency alone: with
// 64 clients the difference drowns in the database's queueing.
func BenchmarkPostCommandsWait(b *testing.B) {
	r := newBenchRelay(b, nil)
	for _, run := range []struct {
		via     string
		clients int
	}{{"http", 64}, {"feed", 64}, {"http", 1}, {"feed", 1}} {
		via, clients := run.via, run.clients
		b.Run(fmt.Sprintf("via=%s/clients=%d", via, clients), func(b *testing.B) {
			n := int64(b.N)
			if clients == 1 {
				n = min(n, 300)
			}
			client := benchClient()
			var next atomic.Int64
			lat := make([][]time.Duration, clients)
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for c := range clients {
				wg.Go(func() {
					agent := fmt.Sprintf("bench%02d", c)
					for next.Add(1) <= n {
						t0 := time.Now()
						if via == "http" {
							res, err := client.Post(r.base+"/v1/commands?wait=10s", "text/plain", strings.NewReader("<"+agent+"><P><ON><1>$"))
							if err != nil {
								b.Error(err)
								return
							}
							_, _ = io.Copy(io.Discard, res.Body)
							res.Body.Close()
							if res.StatusCode != 200 {
								b.Errorf("status %d", res.StatusCode)
								return
							}
						} else {
							p, err := r.feed.Submit(context.Background(), []relay.Inbound{{Source: relay.SourceCLI, Raw: "<" + agent + "><P><ON><1>$"}})
							if err != nil {
								b.Error(err)
								return
							}
							if _, err := p[0].Wait(context.Background()); err != nil {
								b.Error(err)
								return
							}
						}
						lat[c] = append(lat[c], time.Since(t0))
					}
				})
			}
			wg.Wait()
			el := time.Since(start)
			all := slices.Concat(lat...)
			slices.Sort(all)
			if len(all) > 0 {
				b.ReportMetric(float64(len(all))/el.Seconds(), "commands/s")
				b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50_ms")
				b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99_ms")
			}
		})
	}
}

// BenchmarkSSEClients: CTIRELAY_BENCH_SSE_CLIENTS clients (1000) on the
// stream while events are published at 500/s; every client sees every
// event. Reports the p99 from the publish's commit to a client reading it,
// and RSS per client. With CTIRELAY_BENCH_SSE_EXTERNAL=1 the clients run
// in a child process (this test binary, TestSSEClientProcess): the RSS is
// then the server's alone, and the clients' CPU is not the server's.
func BenchmarkSSEClients(b *testing.B) {
	clients := 1000
	if s := os.Getenv("CTIRELAY_BENCH_SSE_CLIENTS"); s != "" {
		clients, _ = strconv.Atoi(s)
	}
	external := os.Getenv("CTIRELAY_BENCH_SSE_EXTERNAL") == "1"
	if os.Getenv("CTIRELAY_BENCH_SSE_HEAPPROFILE")+os.Getenv("CTIRELAY_BENCH_SSE_BUSYPROFILE") != "" {
		runtime.MemProfileRate = 64 // every client's allocations, not a sample
	}
	r := newBenchRelay(b, nil)
	var mu sync.Mutex
	published := map[int64]time.Time{}
	// pace publishes events at 500/s: each tick publishes what is due, in
	// one statement when the database fell behind the pace; the rate
	// achieved.
	pace := func(events int) float64 {
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		begin := time.Now()
		for sent := 0; sent < events; {
			<-tick.C
			due := min(int(time.Since(begin)/(2*time.Millisecond))+1, events) - sent
			if due <= 0 {
				continue
			}
			frames := make([]relay.Frame, due)
			for i := range frames {
				frames[i] = relay.NewFrame("jose", "R", strconv.Itoa(sent+i))
			}
			if err := r.store.Publish(context.Background(), frames, time.Now()); err != nil {
				b.Fatal(err)
			}
			at := time.Now()
			id, _ := r.store.JournalHead(context.Background())
			mu.Lock()
			for k := range due {
				published[id-int64(k)] = at
			}
			mu.Unlock()
			r.feed.Wake()
			sent += due
		}
		return float64(events) / time.Since(begin).Seconds()
	}
	// CTIRELAY_BENCH_SSE_WARMUP=N publishes N events at the same pace
	// before the baseline, with no client: the RSS the event flow alone
	// grows (the collector's headroom over the ring, the feed and the
	// database's driver) is then not counted as the clients'.
	if n, _ := strconv.Atoi(os.Getenv("CTIRELAY_BENCH_SSE_WARMUP")); n > 0 {
		pace(n)
		if err := r.feed.Flush(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	// The baseline with the memory the process no longer uses returned
	// (as run does once quiet): the testing package runs this function
	// twice (b.N 1, then b.N), and what the first run's clients left
	// resident would otherwise hide the second's.
	debug.FreeOSMemory()
	rss0 := rss()
	live0 := readLive()
	head := r.feed.Position()
	events := max(b.N, 50)
	url := fmt.Sprintf("%s/v1/events/stream?after=%d", r.base, head)
	var allRecv [][]sseReceived
	var collect func() error
	if external {
		out := filepath.Join(b.TempDir(), "received")
		cmd := exec.Command(os.Args[0], "-test.run=^TestSSEClientProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), "CTIRELAY_SSE_CHILD_URL="+url, fmt.Sprintf("CTIRELAY_SSE_CHILD_CLIENTS=%d", clients),
			fmt.Sprintf("CTIRELAY_SSE_CHILD_EVENTS=%d", events), "CTIRELAY_SSE_CHILD_OUT="+out)
		stdout, _ := cmd.StdoutPipe()
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		rd := bufio.NewReader(stdout)
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				b.Fatalf("client process: %v", err)
			}
			if strings.HasPrefix(line, "clients ready") {
				break
			}
		}
		go func() { _, _ = io.Copy(io.Discard, rd) }()
		collect = func() error {
			if err := cmd.Wait(); err != nil {
				return err
			}
			recv, err := readReceived(out)
			allRecv = recv
			return err
		}
	} else {
		var ready, got sync.WaitGroup
		client := benchClient()
		for range clients {
			ready.Add(1)
			got.Add(1)
			go func() {
				defer got.Done()
				recv, err := runSSEClient(context.Background(), client, url, events, ready.Done)
				if err != nil {
					b.Error(err)
				}
				mu.Lock()
				allRecv = append(allRecv, recv)
				mu.Unlock()
			}()
		}
		ready.Wait()
		collect = func() error { got.Wait(); return nil }
	}
	b.ResetTimer()
	rssClients := rss()
	live1 := readLive() // after rss's collection: what the clients hold
	if path := os.Getenv("CTIRELAY_BENCH_SSE_HEAPPROFILE"); path != "" {
		// The heap once the clients are connected: what each one costs.
		if f, err := os.Create(path); err == nil {
			_ = pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
	rate := pace(events)
	live2 := readLive() // while serving: stacks as the writes left them
	if path := os.Getenv("CTIRELAY_BENCH_SSE_BUSYPROFILE"); path != "" {
		// The heap at the end of the flow, the clients still connected.
		runtime.GC()
		if f, err := os.Create(path); err == nil {
			_ = pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
	// The RSS at the end of the flow, the clients still connected, before
	// collect: reading the child's results (16 B an event per client,
	// and the file) is this benchmark's memory, not the server's.
	rssEnd := rss()
	if err := collect(); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	var lats []time.Duration
	seen := 0
	for _, rs := range allRecv {
		for _, x := range rs {
			if at, ok := published[x.id]; ok {
				lats = append(lats, time.Unix(0, x.at).Sub(at))
			}
		}
		seen += len(rs)
	}
	if seen != clients*events {
		b.Errorf("the clients saw %d events, want %d", seen, clients*events)
	}
	slices.Sort(lats)
	if len(lats) > 0 {
		b.ReportMetric(float64(lats[len(lats)*99/100].Microseconds())/1000, "p99_ms")
		b.ReportMetric(float64(lats[len(lats)/2].Microseconds())/1000, "p50_ms")
	}
	if rss0 > 0 {
		b.ReportMetric(float64(max(rssClients, rssEnd)-rss0)/float64(clients)/1024, "KB_rss/client")
	}
	b.ReportMetric(rate, "events/s")
	// Where the memory is, as the Go runtime sees it once connected (after
	// a collection, less what the process held before the clients): what
	// each client keeps alive, apart from the collector's headroom.
	n := float64(clients) * 1024
	b.ReportMetric(float64(live1.heap-live0.heap)/n, "KB_heap/client")
	b.ReportMetric(float64(live1.stacks-live0.stacks)/n, "KB_stack/client")
	b.ReportMetric(float64(live2.stacks-live0.stacks)/n, "KB_stack_busy/client")
	b.ReportMetric(float64(live1.goroutines-live0.goroutines)/float64(clients), "goroutines/client")
	if rss0 > 0 {
		b.ReportMetric(float64(rssClients-rss0)/n, "KB_rss_idle/client")
	}
}

// liveMemory is what runtime/metrics says is live: heap objects after the
// last collection, goroutine stacks, goroutines.
type liveMemory struct{ heap, stacks, goroutines int64 }

func readLive() liveMemory {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/stacks:bytes"}, {Name: "/sched/goroutines:goroutines"}}
	metrics.Read(s)
	return liveMemory{int64(s[0].Value.Uint64()), int64(s[1].Value.Uint64()), int64(s[2].Value.Uint64())}
}

// sseReceived is one event as a client read it: 16 B an event.
type sseReceived struct{ id, at int64 } // at: Unix ns

// runSSEClient reads url's stream until it has seen events ids, with whole
// reads, one clock reading each and lines split in place, so the clients'
// side costs little of the shared CPUs. ready is called once connected.
func runSSEClient(ctx context.Context, client *http.Client, url string, events int, ready func()) ([]sseReceived, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	res, err := client.Do(req)
	ready()
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	recv := make([]sseReceived, 0, events)
	buf := make([]byte, 4<<10)
	var line []byte // a line cut by the end of a read
	for len(recv) < events {
		n, err := res.Body.Read(buf)
		at := time.Now().UnixNano()
		for chunk := buf[:n]; len(chunk) > 0; {
			i := bytes.IndexByte(chunk, '\n')
			if i < 0 {
				line = append(line, chunk...)
				break
			}
			l := chunk[:i]
			if len(line) > 0 {
				l = append(line, l...)
				line = line[:0]
			}
			chunk = chunk[i+1:]
			if v, ok := bytes.CutPrefix(l, []byte("id: ")); ok {
				id, _ := strconv.ParseInt(string(v), 10, 64)
				recv = append(recv, sseReceived{id, at})
			}
		}
		if err != nil && len(recv) < events {
			return recv, fmt.Errorf("client: %v after %d", err, len(recv))
		}
	}
	return recv, nil
}

// TestSSEClientProcess is BenchmarkSSEClients's client process; skipped
// unless the benchmark starts it.
func TestSSEClientProcess(t *testing.T) {
	url := os.Getenv("CTIRELAY_SSE_CHILD_URL")
	if url == "" {
		t.Skip("the SSE benchmark's client process (CTIRELAY_BENCH_SSE_EXTERNAL=1)")
	}
	clients, _ := strconv.Atoi(os.Getenv("CTIRELAY_SSE_CHILD_CLIENTS"))
	events, _ := strconv.Atoi(os.Getenv("CTIRELAY_SSE_CHILD_EVENTS"))
	client := benchClient()
	all := make([][]sseReceived, clients)
	var ready, got sync.WaitGroup
	for i := range clients {
		ready.Add(1)
		got.Go(func() {
			recv, err := runSSEClient(context.Background(), client, url, events, ready.Done)
			if err != nil {
				t.Error(err)
			}
			all[i] = recv
		})
	}
	ready.Wait()
	fmt.Println("clients ready")
	got.Wait()
	var out bytes.Buffer
	for _, recv := range all {
		fmt.Fprintln(&out, len(recv))
		for _, x := range recv {
			fmt.Fprintln(&out, x.id, x.at)
		}
	}
	if err := os.WriteFile(os.Getenv("CTIRELAY_SSE_CHILD_OUT"), out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	client.CloseIdleConnections()
}

func readReceived(path string) ([][]sseReceived, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var all [][]sseReceived
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		n, err := strconv.Atoi(sc.Text())
		if err != nil {
			return nil, fmt.Errorf("received: %q", sc.Text())
		}
		recv := make([]sseReceived, 0, n)
		for range n {
			if !sc.Scan() {
				return nil, errors.New("received: cut short")
			}
			a, b, _ := strings.Cut(sc.Text(), " ")
			id, err1 := strconv.ParseInt(a, 10, 64)
			at, err2 := strconv.ParseInt(b, 10, 64)
			if err := errors.Join(err1, err2); err != nil {
				return nil, err
			}
			recv = append(recv, sseReceived{id, at})
		}
		all = append(all, recv)
	}
	return all, sc.Err()
}

// rss is the process's resident set in bytes (Linux; 0 elsewhere).
func rss() int64 {
	runtime.GC()
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// BenchmarkWebhookDeliveries: one endpoint on loopback answering 204 at
// once; deliveries/s of a backlog of b.N events.
func BenchmarkWebhookDeliveries(b *testing.B) {
	var n atomic.Int64
	done := make(chan struct{})
	var once sync.Once
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(204)
		if n.Add(1) == int64(b.N) {
			once.Do(func() { close(done) })
		}
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	r := newBenchRelay(b, []WebhookConfig{{Name: "bench", URL: "http://" + ln.Addr().String() + "/", Secrets: []string{secretOld}, Kinds: []string{relay.KindEvent}}})
	h := r.b.hooks[0]
	for i := 0; ; i++ {
		h.mu.Lock()
		subscribed := h.sub != nil
		h.mu.Unlock()
		if subscribed {
			break
		}
		if i > 2000 {
			b.Fatal("the webhook did not subscribe")
		}
		time.Sleep(5 * time.Millisecond) // a benchmark's set-up, not a test
	}
	frames := make([]relay.Frame, 0, b.N)
	for i := range b.N {
		frames = append(frames, relay.NewFrame("jose", "R", strconv.Itoa(i)))
	}
	b.ResetTimer()
	start := time.Now()
	for len(frames) > 0 {
		k := min(len(frames), 1000)
		if err := r.store.Publish(context.Background(), frames[:k], time.Now()); err != nil {
			b.Fatal(err)
		}
		frames = frames[k:]
	}
	r.feed.Wake()
	<-done
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "deliveries/s")
}
