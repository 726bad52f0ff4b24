package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/ctirelay/ctirelay/internal/tactiumtest"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
)

const (
	e2eTokenERP = "erp-token-0123456789abcdef"
	e2eTokenOps = "ops-token-0123456789abcdef"
)

var e2eWebhookSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("e2e-webhook-secret-0123456789ab"))

// hookReceiver is a webhook endpoint whose answers the test sets.
type hookReceiver struct {
	t      *testing.T
	srv    *httptest.Server
	verify *standardwebhooks.Webhook

	mu       sync.Mutex
	answer   int
	failures int // answer 503 to this many requests first
	attempts int
	got      []int64 // journal ids accepted, in arrival order
	frames   []string
}

func newHookReceiver(t *testing.T) *hookReceiver {
	v, err := standardwebhooks.NewWebhook(e2eWebhookSecret)
	if err != nil {
		t.Fatal(err)
	}
	h := &hookReceiver{t: t, verify: v, answer: 200}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := h.verify.Verify(body, r.Header); err != nil {
			t.Errorf("webhook signature: %v", err)
			w.WriteHeader(400)
			return
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		h.attempts++
		if h.failures > 0 {
			h.failures--
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(503)
			return
		}
		if h.answer/100 == 2 {
			var e struct {
				ID    int64  `json:"id"`
				Frame string `json:"frame"`
			}
			_ = json.Unmarshal(body, &e)
			h.got = append(h.got, e.ID)
			h.frames = append(h.frames, e.Frame)
		}
		w.WriteHeader(h.answer)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) accepted() ([]int64, []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.got), slices.Clone(h.frames)
}

func (h *hookReceiver) set(answer, failures int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.answer, h.failures = answer, failures
}

// api is a curl-style client of the relay's HTTP bridge.
type api struct {
	t    *testing.T
	base string
}

type apiResp struct {
	status int
	header http.Header
	body   string
}

func (a api) do(method, path, token, ctype, body string, hdr ...string) apiResp {
	a.t.Helper()
	req, err := http.NewRequest(method, a.base+path, strings.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return apiResp{res.StatusCode, res.Header, string(b)}
}

type e2eEntry struct {
	ID      int64  `json:"id"`
	Kind    string `json:"kind"`
	Agent   string `json:"agent"`
	Frame   string `json:"frame"`
	Origin  string `json:"origin"`
	InboxID int64  `json:"inbox_id"`
}

// events long-polls for entries after after.
func (a api) events(query string) ([]e2eEntry, int64) {
	a.t.Helper()
	res := a.do("GET", "/v1/events?"+query, e2eTokenERP, "", "")
	if res.status != 200 {
		a.t.Fatalf("events: %d %s", res.status, res.body)
	}
	var body struct {
		Entries []e2eEntry `json:"entries"`
		Next    int64      `json:"next"`
	}
	if err := json.Unmarshal([]byte(res.body), &body); err != nil {
		a.t.Fatal(err)
	}
	return body.Entries, body.Next
}

func httpRelayConfig(httpAddr, sockAddr, hookURL string) string {
	return fmt.Sprintf(`
switch:
  sim:
    ring_time: 0s
bridges:
  socket:
    listen: %s
    poll_interval: 10ms
  http:
    listen: %s
    max_body_bytes: 4096
    wait_max: 20s
    tokens:
      - {name: erp, secret: %s, groups: [commands, events]}
      - {name: ops, secret: %s, groups: [admin, metrics]}
    webhooks:
      - name: crm
        url: %s
        secret: %s
        agents: [jose]
        kinds: [reply]
        timeout: 5s
`, sockAddr, httpAddr, e2eTokenERP, e2eTokenOps, hookURL, e2eWebhookSecret)
}

// TestE2EHTTPBridge runs the binary with the HTTP bridge: commands with and
// without wait keep the agent's order with T_TTI and the socket bridge,
// long-poll and SSE (resumed with Last-Event-ID) miss nothing, a webhook
// receiver failing at first gets every reply in order with valid
// signatures, across a restart, and a 410 disables it; auth and bad input
// are answered clearly.
func TestE2EHTTPBridge(t *testing.T) {
	t.Parallel()
	httpAddr, sockAddr := freeAddr(t), freeAddr(t)
	hook := newHookReceiver(t)
	hook.set(200, 2) // the first two attempts fail
	dir := t.TempDir()
	cfg := writeFile(t, filepath.Join(dir, "ctirelay.yaml"), httpRelayConfig(httpAddr, sockAddr, hook.srv.URL))
	relay1 := startRelay(t, dir, "--config", cfg, "--socket-listen", sockAddr, "--http-listen", httpAddr)
	if strings.Contains(relay1.logText(), e2eTokenERP) || strings.Contains(relay1.logText(), e2eTokenOps) {
		t.Fatal("a token is in the log")
	}
	a := api{t: t, base: "http://" + httpAddr}

	// Auth.
	if res := a.do("POST", "/v1/commands", "", "text/plain", "<jose><S>$"); res.status != 401 {
		t.Fatalf("no token: %d", res.status)
	}
	if res := a.do("POST", "/v1/commands", e2eTokenOps, "text/plain", "<jose><S>$"); res.status != 403 || strings.Contains(res.body, "erp") {
		t.Fatalf("wrong group: %d %s", res.status, res.body)
	}
	if res := a.do("GET", "/readyz", "", "", ""); res.status != 200 {
		t.Fatalf("readyz: %d %s", res.status, res.body)
	}
	_, head := a.events("")

	// With wait: the reply in the answer.
	res := a.do("POST", "/v1/commands?wait=15s", e2eTokenERP, "text/plain", "<jose><L><ON>$")
	if res.status != 200 || !strings.Contains(res.body, "<jose><OK>$") {
		t.Fatalf("wait: %d %s", res.status, res.body)
	}

	// T_TTI, HTTP (no wait) and the socket bridge for the same agent:
	// answered in the order they were queued.
	db := relayDB(t, dir)
	if _, err := db.Exec(`INSERT INTO T_TTI (DS_TTI) VALUES ('<jose><S>$')`); err != nil {
		t.Fatal(err)
	}
	res = a.do("POST", "/v1/commands", e2eTokenERP, "application/json", `[{"agent":"jose","verb":"S"},{"frame":"<jose><P><ON><1>$"}]`)
	if res.status != 202 || res.header.Get("Location") == "" {
		t.Fatalf("no wait: %d %s", res.status, res.body)
	}
	sock := tactiumtest.Dial(t, sockAddr).Patient(30 * time.Second)
	sock.Send("<jose><S>$")
	_ = sock.Frames(1)
	if loc := a.do("GET", res.header.Get("Location")+"?wait=15s", e2eTokenERP, "", ""); loc.status != 200 || !strings.Contains(loc.body, `"state":"done"`) {
		t.Fatalf("poll: %d %s", loc.status, loc.body)
	}
	var replies []e2eEntry
	after := head
	wait.Within(t, 30*time.Second, "five replies to jose", func() bool {
		got, next := a.events(fmt.Sprintf("after=%d&agent=jose&kind=reply&wait=2s", after))
		replies, after = append(replies, got...), next
		return len(replies) >= 5
	})
	for i := 1; i < len(replies); i++ {
		if replies[i].InboxID <= replies[i-1].InboxID {
			t.Fatalf("replies out of the queue's order: %+v", replies)
		}
	}
	origins := []string{}
	for _, r := range replies {
		origins = append(origins, r.Origin)
	}
	for _, o := range []string{"http", "erp", "socket"} {
		if !slices.Contains(origins, o) {
			t.Fatalf("no reply to a %s command among %v", o, origins)
		}
	}
	// Commands from T_TTI and the socket are known to GET /v1/commands/{id}
	// too: the store answers, not the bridge's memory.
	for _, r := range replies {
		if r.Origin == "http" {
			continue
		}
		res := a.do("GET", fmt.Sprintf("/v1/commands/%d", r.InboxID), e2eTokenERP, "", "")
		if res.status != 200 || !strings.Contains(res.body, `"state":"done"`) || !strings.Contains(res.body, `"source":"`+r.Origin+`"`) {
			t.Fatalf("GET /v1/commands/%d (%s): %d %s", r.InboxID, r.Origin, res.status, res.body)
		}
	}

	// SSE: read two, drop, resume with Last-Event-ID: nothing missed.
	stream := func(lastID string) (*http.Response, *bufio.Reader) {
		req, _ := http.NewRequest("GET", a.base+fmt.Sprintf("/v1/events/stream?agent=jose&after=%d", head), nil)
		req.Header.Set("Authorization", "Bearer "+e2eTokenERP)
		if lastID != "" {
			req.Header.Set("Last-Event-ID", lastID)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("stream: %v %v", err, resp)
		}
		return resp, bufio.NewReader(resp.Body)
	}
	nextID := func(rd *bufio.Reader) int64 {
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				t.Fatalf("stream ended: %v", err)
			}
			if s, ok := strings.CutPrefix(strings.TrimSpace(line), "id: "); ok {
				id, _ := strconv.ParseInt(s, 10, 64)
				return id
			}
		}
	}
	all, _ := a.events(fmt.Sprintf("after=%d&agent=jose&limit=1000", head))
	s1, rd := stream("")
	var seen []int64
	seen = append(seen, nextID(rd), nextID(rd))
	s1.Body.Close()
	s2, rd := stream(strconv.FormatInt(seen[1], 10))
	for len(seen) < len(all) {
		seen = append(seen, nextID(rd))
	}
	s2.Body.Close()
	for i, e := range all {
		if seen[i] != e.ID {
			t.Fatalf("SSE ids %v, journal %v", seen, all)
		}
	}

	// Bad input.
	for _, bad := range []struct {
		ctype, body string
		status      int
	}{
		{"application/json", `{"frame":`, 400},
		{"application/xml", `<x/>`, 415},
		{"text/plain", strings.Repeat("<jose><S>$\n", 1000), 413},
		{"text/plain", "<jose><NOPE>$", 422},
	} {
		if res := a.do("POST", "/v1/commands", e2eTokenERP, bad.ctype, bad.body); res.status != bad.status || !strings.Contains(res.body, `"error":{"code":`) {
			t.Fatalf("%s %.30q: %d %s", bad.ctype, bad.body, res.status, res.body)
		}
	}

	// The webhook got every reply to jose, in journal order, after failing.
	wantIDs := func() []int64 {
		got, _ := a.events(fmt.Sprintf("after=%d&agent=jose&kind=reply&limit=1000", head))
		ids := []int64{}
		for _, e := range got {
			ids = append(ids, e.ID)
		}
		return ids
	}
	wait.Within(t, 30*time.Second, "the webhook to catch up", func() bool {
		got, _ := hook.accepted()
		if !slices.Equal(got, wantIDs()) {
			t.Logf("webhook got %v, want %v", got, wantIDs())
			return false
		}
		return true
	})

	// Restart mid-delivery: failing, stop, the receiver comes back, start:
	// delivery resumes from the position.
	hook.set(500, 0)
	if res := a.do("POST", "/v1/commands?wait=15s", e2eTokenERP, "text/plain", "<jose><S>$"); res.status != 200 {
		t.Fatalf("%d %s", res.status, res.body)
	}
	wait.Within(t, 30*time.Second, "a failing attempt", func() bool {
		hook.mu.Lock()
		defer hook.mu.Unlock()
		return hook.attempts > len(hook.got)+2
	})
	relay1.stop()
	hook.set(200, 0)
	relay2 := startRelay(t, dir, "--config", cfg, "--socket-listen", sockAddr, "--http-listen", httpAddr)
	wait.Within(t, 30*time.Second, "the webhook to resume", func() bool {
		got, _ := hook.accepted()
		return slices.Equal(got, wantIDs())
	})

	// A 410 disables the endpoint; webhooks list says so; enable restores.
	hook.set(410, 0)
	a.do("POST", "/v1/commands?wait=15s", e2eTokenERP, "text/plain", "<jose><S>$")
	wait.Within(t, 30*time.Second, "disabled", func() bool {
		out, _, _ := ctl(t, dir, "webhooks", "list", "--config", cfg)
		return strings.Contains(out, "crm   disabled") || strings.Contains(out, "crm  disabled")
	})
	if res := a.do("GET", "/v1/status", e2eTokenOps, "", ""); !strings.Contains(res.body, `"disabled":true`) {
		t.Fatalf("status: %s", res.body)
	}
	if res := a.do("GET", "/metrics", e2eTokenOps, "", ""); !strings.Contains(res.body, `ctirelay_webhook_disabled{webhook="crm"} 1`) ||
		!strings.Contains(res.body, `ctirelay_commands_total{outcome="ok",source="http",verb="S"}`) {
		t.Fatalf("metrics:\n%s", res.body)
	}
	hook.set(200, 0)
	if out, errOut, code := ctl(t, dir, "webhooks", "enable", "crm", "--config", cfg); code != 0 {
		t.Fatalf("enable: %s %s", out, errOut)
	}
	wait.Within(t, 30*time.Second, "delivered after enabling", func() bool {
		got, _ := hook.accepted()
		return slices.Equal(got, wantIDs())
	})
	got, _ := hook.accepted()
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] {
			t.Fatalf("webhook deliveries out of order or twice: %v", got)
		}
	}
	relay2.stop()
}
