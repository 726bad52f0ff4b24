package httpbridge

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/internal/pgtest"
	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
	"github.com/ctirelay/ctirelay/store/memstore"
)

// pgtest.Main: the benchmarks on PostgreSQL start a throwaway cluster; goleak runs after.
func TestMain(m *testing.M) { pgtest.Main(m) }

// rig is a bridge on a memstore with its own feed; the test plays the
// engine (claims and settles what the bridge queued).
type rig struct {
	t     *testing.T
	store relay.Store
	feed  *relay.Feed
	b     *Bridge
	clock *relaytest.Clock
	base  string
}

func newRig(t *testing.T, s relay.Store, cfg Config) *rig {
	t.Helper()
	if s == nil {
		s = memstore.New()
	}
	feed := newTestFeed(t, s)
	clock := relaytest.NewClock(time.Now())
	cfg.Store, cfg.Feed, cfg.Clock = s, feed, clock
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.Rand == nil {
		cfg.Rand = func() float64 { return 0.5 }
	}
	if cfg.StreamCoalesce == 0 {
		// The rig's clock moves only when a test advances it: streams
		// write at once unless the test is about coalescing.
		cfg.StreamCoalesce = -1
	}
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Stop)
	return &rig{t: t, store: s, feed: feed, b: b, clock: clock, base: "http://" + b.ListenAddr().String()}
}

// newTestFeed is a started feed on s that polls every millisecond,
// stopped when the test ends.
func newTestFeed(t *testing.T, s relay.Store) *relay.Feed {
	t.Helper()
	feed, err := relay.NewFeed(relay.FeedConfig{Store: s, PollInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := feed.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(feed.Stop)
	return feed
}

// claim waits for the next queued command.
func (r *rig) claim() relay.Job {
	r.t.Helper()
	var jobs []relay.Job
	wait.For(r.t, "a queued command", func() bool {
		var err error
		jobs, err = r.store.Claim(context.Background(), relay.ClaimRequest{Owner: "test", Limit: 1, Now: time.Now(), LeaseUntil: time.Now().Add(time.Hour)})
		if err != nil {
			r.t.Fatalf("Claim: %v", err)
		}
		return len(jobs) == 1
	})
	return jobs[0]
}

// answer settles the next queued command with replies.
func (r *rig) answer(replies ...relay.Frame) relay.Job {
	r.t.Helper()
	j := r.claim()
	if _, _, err := r.store.Settle(context.Background(), []relay.Outcome{{Job: j, Kind: relay.Done, Replies: replies}}, time.Now(), relay.ClaimRequest{}); err != nil {
		r.t.Fatalf("Settle: %v", err)
	}
	r.feed.Wake()
	return j
}

func (r *rig) publish(events ...relay.Frame) {
	r.t.Helper()
	if err := r.store.Publish(context.Background(), events, time.Now()); err != nil {
		r.t.Fatal(err)
	}
	r.feed.Wake()
}

type resp struct {
	status int
	header http.Header
	body   string
}

func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
	return m
}

// errCode is the error code of a JSON error answer.
func (r resp) errCode(t *testing.T) string {
	t.Helper()
	e, _ := r.json(t)["error"].(map[string]any)
	if e == nil {
		t.Fatalf("no error in %s", r.body)
	}
	code, _ := e["code"].(string)
	return code
}

func (r *rig) do(method, path, ctype, body string, hdr ...string) resp {
	r.t.Helper()
	req, err := http.NewRequest(method, r.base+path, strings.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: string(b)}
}

// sseClient reads events from a stream.
type sseClient struct {
	res *http.Response
	rd  *bufio.Reader
}

type sseEvent struct {
	id, event, data string
	comment         bool
}

func (r *rig) stream(path string, hdr ...string) *sseClient {
	r.t.Helper()
	req, _ := http.NewRequest("GET", r.base+path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	if res.StatusCode != 200 {
		r.t.Fatalf("stream: %d", res.StatusCode)
	}
	c := &sseClient{res: res, rd: bufio.NewReader(res.Body)}
	r.t.Cleanup(func() { res.Body.Close() })
	return c
}

// next reads the next event or comment block.
func (c *sseClient) next(t *testing.T) sseEvent {
	t.Helper()
	var ev sseEvent
	got := false
	for {
		line, err := c.rd.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended: %v", err)
		}
		line = strings.TrimRight(line, "\n")
		if line == "" {
			if got {
				return ev
			}
			continue
		}
		got = true
		switch {
		case strings.HasPrefix(line, ":"):
			ev.comment = true
		case strings.HasPrefix(line, "id: "):
			ev.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			ev.event = line[7:]
		case strings.HasPrefix(line, "data: "):
			ev.data = line[6:]
		case strings.HasPrefix(line, "retry: "):
			ev.comment = true
		}
	}
}
