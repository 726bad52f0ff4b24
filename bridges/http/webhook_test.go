package httpbridge

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
	"github.com/ctirelay/ctirelay/store/memstore"
)

var (
	secretOld = "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	secretNew = "whsec_" + base64.StdEncoding.EncodeToString([]byte("fedcba9876543210fedcba9876543210"))
)

// receiver is a webhook endpoint answering with status(n) on the n-th
// request (from 1); it records the deliveries it accepted.
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	status func(n int) int
	retry  string

	mu       sync.Mutex
	n        int
	accepted []entryJSON
	ids      []string
}

func newReceiver(t *testing.T, status func(n int) int) *receiver {
	rc := &receiver{t: t, status: status}
	verifiers := []*standardwebhooks.Webhook{}
	for _, s := range []string{secretOld, secretNew} {
		v, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			t.Fatal(err)
		}
		verifiers = append(verifiers, v)
	}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		// The specification's own verifier, with each secret of the rotation.
		for _, v := range verifiers {
			if err := v.Verify(body, r.Header); err != nil {
				t.Errorf("signature: %v (%s)", err, r.Header.Get("webhook-signature"))
			}
		}
		rc.mu.Lock()
		rc.n++
		st := rc.status(rc.n)
		if st/100 == 2 {
			var e entryJSON
			if err := json.Unmarshal(body, &e); err != nil {
				t.Errorf("body: %v", err)
			}
			if r.Header.Get("webhook-id") != strconv.FormatInt(e.ID, 10) {
				t.Errorf("webhook-id %q for entry %d", r.Header.Get("webhook-id"), e.ID)
			}
			rc.accepted = append(rc.accepted, e)
		}
		rc.ids = append(rc.ids, r.Header.Get("webhook-id"))
		retry := rc.retry
		rc.mu.Unlock()
		if retry != "" && st/100 != 2 {
			w.Header().Set("Retry-After", retry)
		}
		if st/100 == 3 {
			w.Header().Set("Location", "http://127.0.0.1:1/elsewhere")
		}
		w.WriteHeader(st)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) got() ([]entryJSON, int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]entryJSON(nil), rc.accepted...), rc.n
}

func hookConfig(name, url string) WebhookConfig {
	return WebhookConfig{Name: name, URL: url, Secrets: []string{secretOld, secretNew}, Kinds: []string{relay.KindEvent},
		BackoffBase: time.Second, BackoffMax: 4 * time.Second, FailureWindow: time.Hour, Timeout: 5 * time.Second}
}

// until waits for cond, moving the bridge's clock on meanwhile (backoffs).
func (r *rig) until(what string, cond func() bool) {
	r.t.Helper()
	wait.For(r.t, what, func() bool {
		if cond() {
			return true
		}
		r.clock.Advance(500 * time.Millisecond)
		return false
	})
}

func (r *rig) hookState(name string) WebhookState {
	for _, s := range r.b.webhookStates() {
		if s.Name == name {
			return s
		}
	}
	r.t.Fatalf("no webhook %s", name)
	return WebhookState{}
}

// subscribed waits until the webhook follows the feed.
func (r *rig) subscribed(name string) {
	r.t.Helper()
	for _, h := range r.b.hooks {
		if h.cfg.Name == name {
			wait.For(r.t, "the webhook subscribed", func() bool {
				h.mu.Lock()
				defer h.mu.Unlock()
				return h.sub != nil
			})
		}
	}
}

func agentsOf(es []entryJSON) string {
	var s []string
	for _, e := range es {
		s = append(s, e.Frame)
	}
	return strings.Join(s, " ")
}

func TestWebhookRetriesThenDeliversInOrder(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, func(n int) int {
		switch n {
		case 1:
			return 500
		case 2:
			return 302 // not followed: a failure
		case 3:
			return 429
		}
		return 204
	})
	rc.retry = "2"
	r := newRig(t, nil, Config{Webhooks: []WebhookConfig{hookConfig("crm", rc.srv.URL)}})
	r.subscribed("crm")
	r.publish(relay.NewFrame("jose", "R", "1"), relay.NewFrame("maria", "R", "2"))
	r.publish(relay.NewFrame("jose", "R", "3"))
	r.until("three deliveries", func() bool { got, _ := rc.got(); return len(got) == 3 })
	got, n := rc.got()
	if agentsOf(got) != "<jose><R><1>$ <maria><R><2>$ <jose><R><3>$" || n != 6 {
		t.Fatalf("delivered %s in %d requests", agentsOf(got), n)
	}
	rc.mu.Lock()
	ids := rc.ids
	rc.mu.Unlock()
	if ids[0] != ids[1] || ids[1] != ids[2] || ids[2] != ids[3] {
		t.Fatalf("webhook-id changed across retries: %v", ids)
	}
	wait.For(t, "the position saved", func() bool {
		c, _, _ := r.store.Cursor(context.Background(), CursorPosition("crm", 0))
		return c.Position == got[2].ID
	})
	if s := r.hookState("crm"); s.Failures != 0 || s.Delivered != 3 || s.Disabled {
		t.Fatalf("%+v", s)
	}
}

func TestWebhookGoneDisablesThenEnable(t *testing.T) {
	t.Parallel()
	gone := true
	var mu sync.Mutex
	rc := newReceiver(t, func(int) int {
		mu.Lock()
		defer mu.Unlock()
		if gone {
			return 410
		}
		return 200
	})
	s := memstore.New()
	r := newRig(t, s, Config{Webhooks: []WebhookConfig{hookConfig("crm", rc.srv.URL)}})
	r.subscribed("crm")
	r.publish(relay.NewFrame("jose", "R", "1"))
	r.until("disabled", func() bool { return r.hookState("crm").Disabled })
	cs, err := ReadControl(context.Background(), s, "crm")
	if err != nil || !cs.Disabled {
		t.Fatalf("durable state %+v %v", cs, err)
	}
	r.publish(relay.NewFrame("jose", "R", "2"))
	mu.Lock()
	gone = false
	mu.Unlock()
	if res := r.do("POST", "/v1/webhooks/crm/enable", "", ""); res.status != 200 {
		t.Fatalf("%d %s", res.status, res.body)
	}
	r.until("both delivered after enabling", func() bool { got, _ := rc.got(); return len(got) == 2 })
	if got, _ := rc.got(); agentsOf(got) != "<jose><R><1>$ <jose><R><2>$" {
		t.Fatalf("%s", agentsOf(got))
	}
}

func TestWebhookFailureWindowDisablesKeepingPosition(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, func(n int) int {
		if n == 1 {
			return 200
		}
		return 503
	})
	hc := hookConfig("crm", rc.srv.URL)
	hc.FailureWindow = 20 * time.Second
	r := newRig(t, nil, Config{Webhooks: []WebhookConfig{hc}})
	r.subscribed("crm")
	r.publish(relay.NewFrame("jose", "R", "1"))
	r.publish(relay.NewFrame("jose", "R", "2"))
	r.until("disabled after the window", func() bool { return r.hookState("crm").Disabled })
	got, _ := rc.got()
	st := r.hookState("crm")
	if len(got) != 1 || st.Position != got[0].ID || !strings.Contains(st.DisabledWhy, "failing for") {
		t.Fatalf("%+v %v", st, got)
	}
}

func TestWebhookRestartResumesFromPosition(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	fail := false
	rc := newReceiver(t, func(int) int {
		mu.Lock()
		defer mu.Unlock()
		if fail {
			return 500
		}
		return 200
	})
	s := memstore.New()
	r1 := newRig(t, s, Config{Webhooks: []WebhookConfig{hookConfig("crm", rc.srv.URL)}})
	r1.subscribed("crm")
	r1.publish(relay.NewFrame("jose", "R", "1"))
	r1.until("the first delivered", func() bool { got, _ := rc.got(); return len(got) == 1 })
	mu.Lock()
	fail = true
	mu.Unlock()
	r1.publish(relay.NewFrame("jose", "R", "2"))
	r1.until("the second failing", func() bool { return r1.hookState("crm").Failures > 0 })
	r1.b.Stop()
	r1.feed.Stop()
	mu.Lock()
	fail = false
	mu.Unlock()
	r1.store.Publish(context.Background(), []relay.Frame{relay.NewFrame("jose", "R", "3")}, time.Now())
	r2 := newRig(t, s, Config{Webhooks: []WebhookConfig{hookConfig("crm", rc.srv.URL)}})
	r2.until("the rest delivered", func() bool { got, _ := rc.got(); return len(got) == 3 })
	if got, _ := rc.got(); agentsOf(got) != "<jose><R><1>$ <jose><R><2>$ <jose><R><3>$" {
		t.Fatalf("%s", agentsOf(got))
	}
}

func TestWebhookReplayAndIsolation(t *testing.T) {
	t.Parallel()
	good := newReceiver(t, func(int) int { return 200 })
	bad := newReceiver(t, func(int) int { return 500 })
	r := newRig(t, nil, Config{Webhooks: []WebhookConfig{hookConfig("good", good.srv.URL), hookConfig("bad", bad.srv.URL)}})
	r.subscribed("good")
	r.subscribed("bad")
	r.publish(relay.NewFrame("jose", "R", "1"), relay.NewFrame("jose", "R", "2"), relay.NewFrame("jose", "R", "3"))
	// No clock moves: the failing endpoint waits in its backoff, the other
	// is not held up by it.
	wait.For(t, "the good endpoint served", func() bool { got, _ := good.got(); return len(got) == 3 })
	got, _ := good.got()
	if res := r.do("POST", "/v1/webhooks/good/replay?from="+strconv.FormatInt(got[0].ID, 10), "", ""); res.status != 200 {
		t.Fatalf("%d %s", res.status, res.body)
	}
	r.until("the replay", func() bool { got, _ := good.got(); return len(got) == 5 })
	got, _ = good.got()
	if agentsOf(got[3:]) != "<jose><R><2>$ <jose><R><3>$" {
		t.Fatalf("replayed %s", agentsOf(got[3:]))
	}
	if res := r.do("GET", "/v1/status", "", ""); !strings.Contains(res.body, `"name":"bad"`) || !strings.Contains(res.body, `"last_error":"HTTP 500"`) {
		t.Fatalf("%s", res.body)
	}
}

func TestSignMatchesSpecLibrary(t *testing.T) {
	t.Parallel()
	key, err := parseSecret(secretOld)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := standardwebhooks.NewWebhook(secretOld)
	ts := time.Unix(1700000000, 0)
	want, err := v.Sign("42", ts, []byte(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := sign([][]byte{key}, "42", ts, []byte(`{"a":1}`)); got != want {
		t.Fatalf("%s, want %s", got, want)
	}
}

func TestWebhookDefaults(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil, Config{Webhooks: []WebhookConfig{{Name: "crm", URL: "http://127.0.0.1:9/x", Secrets: []string{secretOld}}}})
	c := r.b.hooks[0].cfg
	if c.Timeout != DefaultWebhookTimeout || c.FailureWindow != DefaultFailureWindow || c.BackoffBase != DefaultBackoffBase || c.BackoffMax != DefaultBackoffMax {
		t.Fatalf("%+v", c)
	}
}
