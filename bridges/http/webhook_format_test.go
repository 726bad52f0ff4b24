package httpbridge

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// A webhook with Format sends the receiver's own request (a GET with the
// variables in the query, unsigned), skips what Format declines, and with
// DropRefused acknowledges a 4xx instead of retrying it; it keeps the
// machinery's state: position, failures, deliveries.
func TestWebhookFormat(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.Header.Get("webhook-signature") != "" || r.Header.Get("X-Key") != "k1" {
			t.Errorf("%s, signature %q, key %q", r.Method, r.Header.Get("webhook-signature"), r.Header.Get("X-Key"))
		}
		q := r.URL.Query()
		mu.Lock()
		got = append(got, q)
		mu.Unlock()
		if q.Get("n") == "refused" {
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()
	received := func() []url.Values {
		mu.Lock()
		defer mu.Unlock()
		return append([]url.Values(nil), got...)
	}
	format := func(_ context.Context, e relay.JournalEntry) (WebhookRequest, bool) {
		f, _ := relay.Parse(e.Frame)
		if f.Arg(0) == "skip" {
			return WebhookRequest{}, false
		}
		return WebhookRequest{Method: http.MethodGet, Query: url.Values{"n": {f.Arg(0)}}.Encode(), Header: http.Header{"X-Key": {"k1"}}}, true
	}
	hc := WebhookConfig{Name: "crm", URL: srv.URL + "/notify?site=1", Kinds: []string{relay.KindEvent}, Format: format, DropRefused: true,
		BackoffBase: time.Second, BackoffMax: 4 * time.Second, FailureWindow: time.Hour, Timeout: 5 * time.Second}
	r := newRig(t, nil, Config{Webhooks: []WebhookConfig{hc}})
	r.subscribed("crm")
	r.publish(relay.NewFrame("jose", "R", "1"), relay.NewFrame("jose", "R", "skip"), relay.NewFrame("jose", "R", "refused"), relay.NewFrame("jose", "R", "2"))
	r.until("three requests", func() bool { return len(received()) >= 3 })
	var ns []string
	for _, q := range received() {
		ns = append(ns, q.Get("n"))
		if q.Get("site") != "1" {
			t.Errorf("the URL's own query was lost: %v", q)
		}
	}
	if len(ns) != 3 || ns[0] != "1" || ns[1] != "refused" || ns[2] != "2" {
		t.Fatalf("requests %v", ns)
	}
	head, _ := r.store.JournalHead(context.Background())
	r.until("the position at the head", func() bool { return r.hookState("crm").Position == head })
	if s := r.hookState("crm"); s.Delivered != 2 || s.Disabled || s.LastError != "" {
		t.Fatalf("%+v", s)
	}
}

func TestWebhookWithoutSecretNeedsFormat(t *testing.T) {
	t.Parallel()
	w := WebhookConfig{Name: "x", URL: "http://127.0.0.1:1/"}
	if ValidateWebhook(w) == nil {
		t.Fatal("a webhook without a secret was accepted")
	}
	w.Format = func(context.Context, relay.JournalEntry) (WebhookRequest, bool) { return WebhookRequest{}, false }
	if err := ValidateWebhook(w); err != nil {
		t.Fatal(err)
	}
}

// A failed request's error names the URL without its query, which may hold
// a secret or, with Format, the receiver's variables.
func TestWebhookErrorHidesTheQuery(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close() // nothing listens there any more
	format := func(context.Context, relay.JournalEntry) (WebhookRequest, bool) {
		return WebhookRequest{Method: http.MethodGet, Query: "origem=4732100123"}, true
	}
	hc := WebhookConfig{Name: "crm", URL: u + "/notify?token=s3cret", Kinds: []string{relay.KindEvent}, Format: format,
		BackoffBase: time.Second, BackoffMax: 4 * time.Second, FailureWindow: time.Hour, Timeout: 5 * time.Second}
	r := newRig(t, nil, Config{Webhooks: []WebhookConfig{hc}})
	r.subscribed("crm")
	r.publish(relay.NewFrame("jose", "R", "1"))
	r.until("a failure", func() bool { return r.hookState("crm").Failures > 0 })
	if e := r.hookState("crm").LastError; e == "" || strings.Contains(e, "s3cret") || strings.Contains(e, "4732100123") {
		t.Fatalf("last error %q", e)
	}
}
