package httpbridge

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
	"github.com/ctirelay/ctirelay/store/memstore"
)

func TestCommandWaitReturnsReplies(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil, Config{})
	got := make(chan resp, 1)
	go func() { got <- r.do("POST", "/v1/commands?wait=10s", "text/plain", "<jose><S>$\n") }()
	j := r.answer(relay.NewFrame("jose", "S", "PAUSA"))
	if j.Frame != "<jose><S>$" || j.Source != relay.SourceHTTP {
		t.Fatalf("queued %s %q", j.Source, j.Frame)
	}
	res := <-got
	if res.status != 200 {
		t.Fatalf("status %d %s", res.status, res.body)
	}
	if !strings.Contains(res.body, `"frame":"<jose><S><PAUSA>$"`) {
		t.Fatalf("reply missing: %s", res.body)
	}
}

func TestCommandJSONForms(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil, Config{})
	res := r.do("POST", "/v1/commands", "application/json", `[{"frame":"<jose><S>$"},{"agent":"maria","verb":"A","args":["85","40050500",""]}]`)
	if res.status != 202 {
		t.Fatalf("status %d %s", res.status, res.body)
	}
	if loc := res.header.Get("Location"); !strings.HasPrefix(loc, "/v1/commands/") {
		t.Fatalf("Location %q", loc)
	}
	var body struct {
		Commands []commandOut `json:"commands"`
	}
	if err := json.Unmarshal([]byte(res.body), &body); err != nil || len(body.Commands) != 2 {
		t.Fatalf("%s %v", res.body, err)
	}
	first := r.claim()
	second := r.claim()
	if first.Frame != "<jose><S>$" || second.Frame != "<maria><A><85><40050500><>$" {
		t.Fatalf("queued %q %q", first.Frame, second.Frame)
	}
	// Not answered yet: running (claimed).
	st := r.do("GET", fmt.Sprintf("/v1/commands/%d", body.Commands[0].ID), "", "")
	if st.status != 200 || !strings.Contains(st.body, `"state":"running"`) {
		t.Fatalf("%d %s", st.status, st.body)
	}
	if _, _, err := r.store.Settle(context.Background(), []relay.Outcome{{Job: first, Kind: relay.Done, Replies: []relay.Frame{relay.NewFrame("jose", "OK")}}}, first.EnqueuedAt, relay.ClaimRequest{}); err != nil {
		t.Fatal(err)
	}
	r.feed.Wake()
	st = r.do("GET", fmt.Sprintf("/v1/commands/%d?wait=10s", body.Commands[0].ID), "", "")
	if st.status != 200 || !strings.Contains(st.body, `"state":"done"`) {
		t.Fatalf("%d %s", st.status, st.body)
	}
	if st := r.do("GET", "/v1/commands/999999", "", ""); st.status != 404 || st.errCode(t) != codeNotFound {
		t.Fatalf("%d %s", st.status, st.body)
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil, Config{MaxBodyBytes: 64})
	for _, tc := range []struct {
		name, path, ctype, body string
		status                  int
		code                    string
	}{
		{"malformed JSON", "/v1/commands", "application/json", `{"frame":`, 400, codeBadRequest},
		{"unknown field", "/v1/commands", "application/json", `{"fram":"x"}`, 400, codeBadRequest},
		{"both forms", "/v1/commands", "application/json", `{"frame":"<a><S>$","agent":"a"}`, 400, codeBadRequest},
		// A '>' cannot be carried in a field: the frame would go out with ')'
		// in its place, another agent or another number than the client sent.
		{"'>' in agent", "/v1/commands", "application/json", `{"agent":"jo>se","verb":"S"}`, 400, codeBadRequest},
		{"'>' in arg", "/v1/commands", "application/json", `{"agent":"a","verb":"A","args":["85","4005>0500",""]}`, 400, codeBadRequest},
		{"content type", "/v1/commands", "application/xml", `<x/>`, 415, codeContentType},
		{"charset", "/v1/commands", "text/plain; charset=latin1", `<jose><S>$`, 415, codeContentType},
		{"too large", "/v1/commands", "text/plain", strings.Repeat("<jose><S>$\n", 10), 413, codeTooLarge},
		{"empty", "/v1/commands", "text/plain", "\n\n", 400, codeBadRequest},
		{"bad wait", "/v1/commands?wait=soon", "text/plain", "<jose><S>$", 400, codeBadRequest},
		{"unknown verb", "/v1/commands", "text/plain", "<jose><NOPE>$", 422, "UNKNOWN_VERB"},
		{"bad frame", "/v1/commands", "text/plain", "jose S", 422, ""},
		{"bad after", "/v1/events?after=x", "", "", 400, codeBadRequest},
		{"bad kind", "/v1/events?kind=x", "", "", 400, codeBadRequest},
		{"no route", "/v2/nothing", "", "", 404, codeNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			method := "POST"
			if tc.ctype == "" {
				method = "GET"
			}
			res := r.do(method, tc.path, tc.ctype, tc.body)
			if res.status != tc.status {
				t.Fatalf("status %d, want %d: %s", res.status, tc.status, res.body)
			}
			if code := res.errCode(t); tc.code != "" && code != tc.code {
				t.Fatalf("code %q, want %q (%s)", code, tc.code, res.body)
			}
		})
	}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil, Config{Tokens: []Token{{Name: "erp", Secret: "s3cret-erp", Groups: []string{GroupCommands}},
		{Name: "ops", Secret: "s3cret-ops", Groups: []string{GroupAdmin, GroupMetrics, GroupEvents}}}})
	for _, tc := range []struct {
		name, method, path, token string
		status                    int
	}{
		{"no token", "GET", "/v1/status", "", 401},
		{"wrong token", "GET", "/v1/status", "Bearer nope", 401},
		{"wrong group", "GET", "/v1/status", "Bearer s3cret-erp", 403},
		{"right group", "GET", "/v1/status", "Bearer s3cret-ops", 200},
		{"metrics", "GET", "/metrics", "Bearer s3cret-ops", 200},
		{"commands forbidden", "POST", "/v1/commands", "Bearer s3cret-ops", 403},
		{"health open", "GET", "/healthz", "", 200},
		{"openapi open", "GET", "/v1/openapi.json", "", 200},
		{"query token elsewhere", "GET", "/v1/status?access_token=s3cret-ops", "", 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hdr []string
			if tc.token != "" {
				hdr = []string{"Authorization", tc.token}
			}
			res := r.do(tc.method, tc.path, "text/plain", "<jose><S>$", hdr...)
			if res.status != tc.status {
				t.Fatalf("status %d, want %d: %s", res.status, tc.status, res.body)
			}
			if strings.Contains(res.body, "s3cret") || strings.Contains(res.body, "erp\"") {
				t.Fatalf("answer reveals a token: %s", res.body)
			}
		})
	}
}

func TestNonLoopbackNeedsTokens(t *testing.T) {
	t.Parallel()
	if err := CheckAddr("0.0.0.0:8480", false); err == nil {
		t.Fatal("0.0.0.0 without tokens accepted")
	}
	if err := CheckAddr("0.0.0.0:8480", true); err != nil {
		t.Fatal(err)
	}
	if err := CheckAddr("[::1]:8480", false); err != nil {
		t.Fatal(err)
	}
}

func TestLongPoll(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil, Config{})
	head := r.feed.Position()
	got := make(chan resp, 1)
	go func() { got <- r.do("GET", fmt.Sprintf("/v1/events?after=%d&agent=jose&wait=10s", head), "", "") }()
	r.publish(relay.NewFrame("maria", "R", "1"))
	r.publish(relay.NewFrame("jose", "R", "2"))
	res := <-got
	if res.status != 200 {
		t.Fatalf("%d %s", res.status, res.body)
	}
	var body struct {
		Entries []entryJSON `json:"entries"`
		Next    int64       `json:"next"`
	}
	if err := json.Unmarshal([]byte(res.body), &body); err != nil {
		t.Fatal(err)
	}
	if len(body.Entries) != 1 || body.Entries[0].Agent != "jose" || body.Next != body.Entries[0].ID {
		t.Fatalf("%s", res.body)
	}
}

func TestStreamResumesWithLastEventID(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil, Config{Heartbeat: DefaultHeartbeat})
	head := r.feed.Position()
	c := r.stream(fmt.Sprintf("/v1/events/stream?after=%d", head))
	if ev := c.next(t); !ev.comment {
		t.Fatalf("first block %+v, want retry:", ev)
	}
	r.publish(relay.NewFrame("jose", "R", "1"), relay.NewFrame("jose", "R", "2"))
	e1 := c.next(t)
	if e1.event != relay.KindEvent || !strings.Contains(e1.data, `"agent":"jose"`) {
		t.Fatalf("%+v", e1)
	}
	_ = c.next(t)
	// Heartbeat on the injected clock.
	r.clock.WaitForWaiters(1, wait.Safety)
	r.clock.Advance(DefaultHeartbeat)
	if ev := c.next(t); !ev.comment {
		t.Fatalf("%+v, want a heartbeat", ev)
	}
	c.res.Body.Close()
	r.publish(relay.NewFrame("jose", "R", "3"))
	c2 := r.stream("/v1/events/stream", "Last-Event-ID", e1.id)
	_ = c2.next(t) // retry:
	for _, want := range []string{`"R","2"`, `"R","3"`} {
		_ = want
		ev := c2.next(t)
		if ev.id == "" || ev.id == e1.id {
			t.Fatalf("%+v after %s", ev, e1.id)
		}
	}
}

func TestSlowStreamClientIsCut(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil, Config{StreamBytes: 64 << 10})
	c := r.stream(fmt.Sprintf("/v1/events/stream?after=%d", r.feed.Position()))
	_ = c
	wait.For(t, "the stream subscribed", func() bool { return testutil.ToFloat64(r.b.m.streams) == 1 })
	// Never read: the buffer of 4 overflows on the TCP back-pressure.
	for i := range 2000 {
		r.publish(relay.NewFrame("jose", "R", strings.Repeat("x", 1000), fmt.Sprint(i)))
	}
	wait.For(t, "the slow client cut", func() bool { return testutil.ToFloat64(r.b.m.streamsCut) == 1 })
	wait.For(t, "the stream closed", func() bool { return testutil.ToFloat64(r.b.m.streams) == 0 })
}

func TestAdmin(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil, Config{})
	r.do("POST", "/v1/commands", "text/plain", "<jose><S>$")
	j := r.claim()
	if _, _, err := r.store.Settle(context.Background(), []relay.Outcome{{Job: j, Kind: relay.Dead, Reason: "switch said no",
		Replies: []relay.Frame{relay.NewFrame("jose", "ERR", "X", "no")}}}, j.EnqueuedAt, relay.ClaimRequest{}); err != nil {
		t.Fatal(err)
	}
	res := r.do("GET", "/v1/dead", "", "")
	var dead struct {
		Dead []deadJSON `json:"dead"`
	}
	if err := json.Unmarshal([]byte(res.body), &dead); err != nil || len(dead.Dead) != 1 {
		t.Fatalf("%s", res.body)
	}
	if res := r.do("POST", "/v1/dead/retry?reason=nothing-like-it", "", ""); !strings.Contains(res.body, `"retried":0`) {
		t.Fatalf("%s", res.body)
	}
	if res := r.do("POST", "/v1/dead/retry?reason=said", "", ""); !strings.Contains(res.body, `"retried":1`) {
		t.Fatalf("%s", res.body)
	}
	if res := r.do("POST", fmt.Sprintf("/v1/dead/%d/retry", dead.Dead[0].ID), "", ""); res.status != 404 {
		t.Fatalf("%d %s", res.status, res.body)
	}
	if res := r.do("GET", "/v1/status", "", ""); res.status != 200 || !strings.Contains(res.body, `"inbox":1`) {
		t.Fatalf("%d %s", res.status, res.body)
	}
	if res := r.do("GET", "/v1/agents", "", ""); res.status != 200 || !strings.Contains(res.body, `"agent":"jose"`) {
		t.Fatalf("%d %s", res.status, res.body)
	}
}

func TestReadyz(t *testing.T) {
	t.Parallel()
	var why error
	r := newRig(t, nil, Config{Ready: func(context.Context) error { return why }})
	if res := r.do("GET", "/readyz", "", ""); res.status != 200 {
		t.Fatal(res.status)
	}
	why = fmt.Errorf("switch driver not connected")
	if res := r.do("GET", "/readyz", "", ""); res.status != 503 || !strings.Contains(res.body, "switch driver") {
		t.Fatal(res.status, res.body)
	}
}

// TestOpenAPIMatchesRoutes checks the document against the mux: every
// documented operation is served (not the catch-all), every route is
// documented.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	mounts := []Mount{
		{Pattern: "GET /api/clicktodial", Group: GroupAdmin, Summary: "click to dial", Handler: http.NotFoundHandler()},
		{Pattern: "/ui/", Summary: "the dashboard", Handler: http.NotFoundHandler()},
		{Pattern: "POST /api/undocumented", Handler: http.NotFoundHandler()},
	}
	r := newRig(t, nil, Config{Mounts: mounts})
	res := r.do("GET", "/v1/openapi.json", "", "")
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal([]byte(res.body), &doc); err != nil || !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("%v %.200s", err, res.body)
	}
	n := 0
	for path, ops := range doc.Paths {
		for method := range ops {
			n++
			concrete := strings.NewReplacer("{id}", "1", "{name}", "x").Replace(path)
			req := httptest.NewRequest(strings.ToUpper(method), concrete, nil)
			_, pattern := r.b.mux.Handler(req)
			want := strings.ToUpper(method) + " " + path
			if path == "/ui/" {
				want = "/ui/" // mounted without a method
			}
			if pattern != want {
				t.Errorf("%s %s documented, served by %q", method, path, pattern)
			}
		}
	}
	if n != len(r.b.routes())+2 || len(r.b.routes()) != len(routeDocs) {
		t.Fatalf("%d documented operations, %d routes (and 2 mounts with a summary), %d route docs", n, len(r.b.routes()), len(routeDocs))
	}
	if _, ok := doc.Paths["/api/undocumented"]; ok {
		t.Errorf("a mount without a summary is documented")
	}
	for _, rt := range r.b.routes() {
		if _, ok := routeDocs[rt.method+" "+rt.pattern]; !ok {
			t.Errorf("%s %s has no routeDocs entry", rt.method, rt.pattern)
		}
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil, Config{})
	r.do("POST", "/v1/commands", "text/plain", "<jose><NOPE>$")
	go r.do("POST", "/v1/commands?wait=10s", "text/plain", "<jose><S>$")
	r.answer(relay.NewFrame("jose", "S", "LIVRE"))
	wait.For(t, "the outcome counted", func() bool {
		return testutil.ToFloat64(r.b.m.commands.WithLabelValues("http", "S", "ok")) == 1
	})
	if n := testutil.ToFloat64(r.b.m.commands.WithLabelValues("http", "unknown", "refused")); n != 1 {
		t.Fatalf("refused %v", n)
	}
	if err := testutil.GatherAndCompare(r.b.reg, strings.NewReader(`
# HELP ctirelay_queue_depth Messages in each queue (tti: waiting in T_TTI; inbox, ready, in_flight, retrying, dead, outbox).
# TYPE ctirelay_queue_depth gauge
ctirelay_queue_depth{queue="dead"} 1
ctirelay_queue_depth{queue="in_flight"} 0
ctirelay_queue_depth{queue="inbox"} 0
ctirelay_queue_depth{queue="outbox"} 0
ctirelay_queue_depth{queue="ready"} 0
ctirelay_queue_depth{queue="retrying"} 0
ctirelay_queue_depth{queue="tti"} 0
`), "ctirelay_queue_depth"); err != nil {
		t.Fatal(err)
	}
	res := r.do("GET", "/metrics", "", "")
	if !strings.Contains(res.body, "ctirelay_bridge_clients{bridge=\"http\"}") || strings.Contains(res.body, "jose") {
		t.Fatalf("%s", res.body)
	}
}

func TestStartStop(t *testing.T) {
	relaytest.StressStartStop(t, func(t *testing.T) relay.Service {
		s := memstore.New()
		feed, err := relay.NewFeed(relay.FeedConfig{Store: s})
		if err != nil {
			t.Fatal(err)
		}
		if err := feed.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(feed.Stop)
		b, err := New(Config{Addr: "127.0.0.1:0", Store: s, Feed: feed})
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}

var _ = http.StatusOK
