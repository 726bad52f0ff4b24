package crm_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/bridges/crm"
	httpbridge "github.com/ctirelay/ctirelay/bridges/http"
	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/httpdial"
)

func (r *rig) clickToDial(tune func(h *crm.ClickToDial)) string {
	r.t.Helper()
	h := &crm.ClickToDial{Feed: r.feed, Journal: r.notes,
		Agents: map[string]crm.SeniorAgent{
			"jose":  {Extension: "3501", Credentials: httpdial.Credentials{User: "jose", Password: "s3nha", Token: "tok-jose"}},
			"maria": {Extension: "3502"},
		},
		Global: httpdial.Credentials{User: "crm", Password: "global", Token: "tok-global"}}
	if tune != nil {
		tune(h)
	}
	if err := h.Check("bridges.crm.senior.clicktodial."); err != nil {
		r.t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(crm.DefaultClickToDialPath, h)
	srv := httptest.NewServer(mux)
	r.t.Cleanup(srv.Close)
	return srv.URL + crm.DefaultClickToDialPath
}

// A Senior-style CRM dials through the relay with each of the four modes
// of cti_autenticacao: the agent owning origem gets <login><A><ddd><phone><>$.
func TestSeniorClickToDialAuthModes(t *testing.T) {
	type creds struct {
		user, pass, header, urlToken string
	}
	for _, tc := range []struct {
		mode   httpdial.AuthMode
		good   creds
		bad    []creds
		status int
	}{
		{httpdial.AuthNone, creds{}, nil, 200},
		{httpdial.AuthBasic, creds{user: "jose", pass: "s3nha"}, []creds{{}, {user: "jose", pass: "wrong"}, {user: "crm", pass: "global"}}, 200},
		{httpdial.AuthHeader, creds{header: "tok-jose"}, []creds{{}, {header: "tok-global"}, {urlToken: "tok-jose"}}, 200},
		{httpdial.AuthURLToken, creds{urlToken: "tok-jose"}, []creds{{}, {urlToken: "nope"}, {header: "tok-jose"}}, 200},
		{httpdial.AuthBasicHeader, creds{user: "jose", pass: "s3nha", header: "tok-jose"}, []creds{{user: "jose", pass: "s3nha"}, {header: "tok-jose"}}, 200},
	} {
		t.Run(string(rune('0'+tc.mode)), func(t *testing.T) {
			t.Parallel()
			r := newRig(t, nil)
			base := r.clickToDial(func(h *crm.ClickToDial) { h.Auth = tc.mode })
			call := func(c creds) (int, string) {
				u := base + "?origem=3501&destino=4732100123"
				if c.urlToken != "" {
					u += "&token=" + c.urlToken
				}
				req, _ := http.NewRequest(http.MethodGet, u, nil)
				if c.user != "" {
					req.SetBasicAuth(c.user, c.pass)
				}
				if c.header != "" {
					req.Header.Set("token_auth", c.header)
				}
				return do(t, req)
			}
			for _, c := range tc.bad {
				if status, b := call(c); status != http.StatusUnauthorized {
					t.Fatalf("credentials %+v: %d %s, want 401", c, status, b)
				}
			}
			if n := len(r.fake.Calls()); n != 0 {
				t.Fatalf("%d commands reached the switch on bad credentials", n)
			}
			status, b := call(tc.good)
			if status != tc.status || !strings.Contains(b, `"result":"OK"`) {
				t.Fatalf("good credentials: %d %s", status, b)
			}
			calls := r.fake.Calls()
			if len(calls) != 1 || calls[0].Frame.String() != "<jose><A><47><32100123><>$" {
				t.Fatalf("the switch got %+v", calls)
			}
		})
	}
}

func TestSeniorClickToDialOutcomes(t *testing.T) {
	r := newRig(t, nil)
	gate := make(chan struct{})
	var mu sync.Mutex
	answer := relay.Frame(nil)
	r.fake.Handle = func(ctx context.Context, cmd relay.Command) ([]relay.Frame, error) {
		mu.Lock()
		a := answer
		mu.Unlock()
		if a == nil {
			select {
			case <-gate:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			return []relay.Frame{relay.OK(cmd.Login)}, nil
		}
		return []relay.Frame{a}, nil
	}
	base := r.clickToDial(func(h *crm.ClickToDial) {
		h.Wait = 50 * time.Millisecond
		h.OriginVar = "ramal"
		h.DestinationVar = "numero"
	})

	mu.Lock()
	answer = relay.ErrReply("jose", "BUSY", "agent is on a call")
	mu.Unlock()
	status, b := get(t, base+"?ramal=3501&numero=04732100123")
	if status != http.StatusUnprocessableEntity || !strings.Contains(b, `"message":"agent is on a call"`) || !strings.Contains(b, `"code":"BUSY"`) {
		t.Fatalf("ERR: %d %s", status, b)
	}
	if got := r.fake.Calls()[0].Frame.String(); got != "<jose><A><47><32100123><>$" {
		t.Fatalf("the leading dial-tone zero was not dropped: %s", got)
	}

	mu.Lock()
	answer = nil // the switch holds the dial: wait runs out
	mu.Unlock()
	form := url.Values{"ramal": {"3502"}, "numero": {"2001"}}
	resp, err := http.PostForm(base, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("a dial still running answered %d, want 202", resp.StatusCode)
	}
	close(gate)
	if got := r.fake.Calls()[1].Frame.String(); got != "<maria><A><><2001><>$" {
		t.Fatalf("internal number dialled as %s", got)
	}

	// JSON bodies too
	req, _ := http.NewRequest(http.MethodPost, base, strings.NewReader(`{"ramal":3502,"numero":"4732100123"}`))
	req.Header.Set("Content-Type", "application/json")
	if status, b := do(t, req); status != http.StatusOK {
		t.Fatalf("JSON body: %d %s", status, b)
	}
}

func TestSeniorClickToDialBadInputs(t *testing.T) {
	r := newRig(t, nil)
	base := r.clickToDial(func(h *crm.ClickToDial) { h.Auth = httpdial.AuthHeader; h.MaxBodyBytes = 1024 })
	for _, tc := range []struct {
		name, method, query, body, ctype, token string
		status                                  int
	}{
		{"no origem", "GET", "?destino=4732100123", "", "", "tok-jose", 400},
		{"no destino", "GET", "?origem=3501", "", "", "tok-jose", 400},
		{"destino without digits", "GET", "?origem=3501&destino=abc", "", "", "tok-jose", 400},
		{"destino with frame characters", "GET", "?origem=3501&destino=12%3C%3E%24", "", "", "tok-jose", 400},
		{"destino with letters", "GET", "?origem=3501&destino=4732100123x", "", "", "tok-jose", 400},
		{"destino too long", "GET", "?origem=3501&destino=" + strings.Repeat("4", 25), "", "", "tok-jose", 400},
		{"unknown extension", "GET", "?origem=9999&destino=4732100123", "", "", "tok-global", 404},
		{"unknown extension, no credentials", "GET", "?origem=9999&destino=4732100123", "", "", "", 401},
		{"bad token", "GET", "?origem=3501&destino=4732100123", "", "", "nope", 401},
		{"oversized body", "POST", "", "origem=3501&destino=" + strings.Repeat("4", 4000), "application/x-www-form-urlencoded", "tok-jose", 413},
		{"oversized JSON", "POST", "", `{"origem":"3501","destino":"` + strings.Repeat("4", 4000) + `"}`, "application/json", "tok-jose", 413},
		{"broken JSON", "POST", "", `{"origem":`, "application/json", "tok-jose", 400},
		{"other content type", "POST", "", `origem=3501`, "text/plain", "tok-jose", 400},
		{"DELETE", "DELETE", "?origem=3501&destino=4732100123", "", "", "tok-jose", 405},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, base+tc.query, strings.NewReader(tc.body))
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			if tc.token != "" {
				req.Header.Set("token_auth", tc.token)
			}
			if status, b := do(t, req); status != tc.status {
				t.Fatalf("%d %s, want %d", status, b, tc.status)
			}
		})
	}
	if n := len(r.fake.Calls()); n != 0 {
		t.Fatalf("%d commands reached the switch", n)
	}
	if !r.notes.has("unknown-extension", "clicktodial") {
		t.Fatal("the unknown extension was not journaled")
	}
}

func TestSeniorClickToDialCheckNamesKeys(t *testing.T) {
	t.Parallel()
	h := &crm.ClickToDial{Auth: 7, OriginVar: "x", DestinationVar: "x", Agents: map[string]crm.SeniorAgent{"a": {}, "b": {Extension: "1"}, "c": {Extension: "1"}}}
	err := h.Check("bridges.crm.senior.")
	if err == nil {
		t.Fatal("accepted")
	}
	for _, key := range []string{"senior.auth", "senior.agents.a.extension", "senior.destination_var"} {
		if !strings.Contains(err.Error(), "bridges.crm."+key) {
			t.Errorf("error does not name %s: %v", key, err)
		}
	}
	h = &crm.ClickToDial{Feed: nil, Auth: httpdial.AuthBasicHeader, Agents: map[string]crm.SeniorAgent{"a": {Extension: "1"}}}
	err = h.Check("bridges.crm.senior.")
	for _, key := range []string{"senior.agents.a.user", "senior.agents.a.token"} {
		if err == nil || !strings.Contains(err.Error(), "bridges.crm."+key) {
			t.Errorf("error does not name %s: %v", key, err)
		}
	}
}

// crmServer is a Senior-style CRM receiving call notifications; it refuses
// the first `fail` of them with 503.
type crmServer struct {
	mu      sync.Mutex
	got     []url.Values
	sent    []string
	headers http.Header
	fail    int
	refuse  string // a caller answered 400
	srv     *httptest.Server
}

func newCRM(t *testing.T, fail int) *crmServer {
	c := &crmServer{fail: fail}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.fail > 0 {
			c.fail--
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if c.refuse != "" && r.Form.Get("origem") == c.refuse && r.Form.Get("evento") == "ringing" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		c.got = append(c.got, r.Form)
		c.sent = append(c.sent, r.Method)
		c.headers = r.Header
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *crmServer) methods() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.sent...)
}

func (c *crmServer) header(k string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.headers.Get(k)
}

func (c *crmServer) reports() []url.Values {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]url.Values(nil), c.got...)
}

// bridge starts an HTTP bridge on the rig's store and feed with cfg (on
// 127.0.0.1:0), the webhooks' backoff a millisecond.
func (r *rig) bridge(cfg httpbridge.Config) *httpbridge.Bridge {
	r.t.Helper()
	cfg.Addr, cfg.Store, cfg.Feed = "127.0.0.1:0", r.store, r.feed
	for i := range cfg.Webhooks {
		cfg.Webhooks[i].BackoffBase, cfg.Webhooks[i].BackoffMax = time.Millisecond, time.Millisecond
	}
	b, err := httpbridge.New(cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(b.Stop)
	return b
}

func webhookState(t *testing.T, b *httpbridge.Bridge, name string) httpbridge.WebhookState {
	t.Helper()
	_, body := get(t, "http://"+b.ListenAddr().String()+"/v1/webhooks")
	var out struct{ Webhooks []httpbridge.WebhookState }
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatal(err)
	}
	for _, s := range out.Webhooks {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no webhook %s in %s", name, body)
	return httpbridge.WebhookState{}
}

// The CRM receives each call's reports with the configured variable names
// through a webhook endpoint of the HTTP bridge: a failing CRM is retried
// and counted in /v1/webhooks, and a restart resumes from the durable
// position.
func TestSeniorNotifications(t *testing.T) {
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		t.Run(method, func(t *testing.T) {
			r := newRig(t, nil)
			c := newCRM(t, 2)
			rep := &crm.SeniorReports{Method: method,
				Vars:    httpdial.Vars{Origin: "num_origem", Destination: "num_destino", OriginOut: "num_origem_sainte", DestinationOut: "num_destino_sainte", Audio: "gravacao", Event: "evento"},
				Agents:  map[string]string{"jose": "3501"},
				Headers: map[string]string{"X-Api-Key": "k"},
				Journal: r.notes,
			}
			if err := rep.Check("bridges.crm.senior."); err != nil {
				t.Fatal(err)
			}
			crmURL := c.srv.URL + "/wconnect/WConnect_MonitoraRamal.php"
			b := r.bridge(httpbridge.Config{Webhooks: []httpbridge.WebhookConfig{rep.Webhook("senior", crmURL)}})
			until(t, "the webhook following the feed", func() bool {
				c, found, _ := r.store.Cursor(context.Background(), httpbridge.CursorPosition("senior", 0))
				return found && c.Position >= 0
			})
			r.emit(ring("jose", "4732100123", "3501"))
			r.emit(relay.ReceptiveCall{Login: "maria", Origin: "1", Dest: "2"}.Frame()) // not mapped: not reported
			r.emit(relay.Recording("jose", "https://rec.example/1.wav"))
			r.emit(relay.EndCall("jose"))
			r.emit(relay.ActiveCall{Login: "jose", OriginDDD: "", Origin: "3501", DestDDD: "47", Dest: "32100123"}.Frame())
			r.emit(relay.EndCall("jose"))
			until(t, "four reports", func() bool { return len(c.reports()) >= 4 })
			got := c.reports()
			want := []url.Values{
				{"evento": {"ringing"}, "num_origem": {"4732100123"}, "num_destino": {"3501"}},
				{"evento": {"end"}, "num_origem": {"4732100123"}, "num_destino": {"3501"}, "gravacao": {"https://rec.example/1.wav"}},
				{"evento": {"answer"}, "num_origem_sainte": {"3501"}, "num_destino_sainte": {"4732100123"}},
				{"evento": {"end"}, "num_origem_sainte": {"3501"}, "num_destino_sainte": {"4732100123"}},
			}
			if len(got) != len(want) {
				t.Fatalf("got %d reports: %v", len(got), got)
			}
			for i := range want {
				if got[i].Encode() != want[i].Encode() {
					t.Errorf("report %d = %s, want %s", i, got[i].Encode(), want[i].Encode())
				}
			}
			if m := c.methods(); m[0] != method || c.header("X-Api-Key") != "k" {
				t.Fatalf("sent by %v with key %q", m, c.header("X-Api-Key"))
			}
			until(t, "the webhook's state", func() bool { return webhookState(t, b, "senior").Delivered == 4 })
			if s := webhookState(t, b, "senior"); s.Disabled || s.Position == 0 {
				t.Fatalf("state %+v", s)
			}
			b.Stop()

			// A restart resumes after what was acknowledged: only the new call.
			r.emit(ring("jose", "4799999999", "3501"))
			rep2 := &crm.SeniorReports{Method: method, Vars: rep.Vars, Agents: rep.Agents}
			r.bridge(httpbridge.Config{Webhooks: []httpbridge.WebhookConfig{rep2.Webhook("senior", crmURL)}})
			until(t, "the report sent after the restart", func() bool { return len(c.reports()) >= 5 })
			r.flush()
			got = c.reports()
			if len(got) != 5 || got[4].Get("num_origem") != "4799999999" {
				t.Fatalf("after the restart: %v", got[4:])
			}
		})
	}
}

// Pops suppressed by the rules are not reported to the CRM and are noted
// with the rule; a CRM refusing a report for good (4xx) has it dropped —
// counted as a failure, not retried — and the next report goes.
func TestSeniorNotificationsRules(t *testing.T) {
	r := newRig(t, nil)
	c := newCRM(t, 0)
	c.refuse = "4732222222"
	rep := &crm.SeniorReports{Agents: map[string]string{"jose": "3501"}, Rules: crm.Rules{Exceptions: []string{"4732100123"}}, Journal: r.notes}
	b := r.bridge(httpbridge.Config{Webhooks: []httpbridge.WebhookConfig{rep.Webhook("senior", c.srv.URL)}})
	until(t, "the webhook following the feed", func() bool {
		_, found, _ := r.store.Cursor(context.Background(), httpbridge.CursorPosition("senior", 0))
		return found
	})
	r.emit(ring("jose", "4732100123", "3501"))
	r.emit(relay.EndCall("jose"))
	r.emit(ring("jose", "4732222222", "3501"))
	r.emit(relay.EndCall("jose"))
	r.emit(ring("jose", "4711111111", "3501"))
	until(t, "the reports after the refused one", func() bool { return len(c.reports()) >= 2 })
	r.flush()
	got := c.reports()
	if len(got) != 2 || got[0].Get("origem") != "4732222222" || got[0].Get("evento") != "end" || got[1].Get("origem") != "4711111111" {
		t.Fatalf("reports: %v", got)
	}
	if !r.notes.has("pop-suppressed", crm.RuleException) {
		t.Fatal("the suppressed pop was not journaled")
	}
	if s := webhookState(t, b, "senior"); s.Delivered != 2 || s.Failures != 0 || s.Disabled {
		t.Fatalf("state %+v", s)
	}
}

// An entry delivered again (the webhook resubscribing after a lag or an
// enable) gets the report it made the first time, without deciding its pop
// twice; one from before what is remembered (a replay) starts afresh.
func TestSeniorReportsRedelivery(t *testing.T) {
	t.Parallel()
	n := &notes{}
	rep := &crm.SeniorReports{Agents: map[string]string{"jose": "3501"}, Rules: crm.Rules{MinLength: 6}, Journal: n}
	entry := func(id int64, f relay.Frame) relay.JournalEntry {
		return relay.JournalEntry{ID: id, Kind: relay.KindEvent, Agent: "jose", Frame: f.String()}
	}
	ctx := context.Background()
	ring1, end1, ring2 := entry(1, ring("jose", "4732100123", "3501")), entry(2, relay.EndCall("jose")), entry(3, ring("jose", "12", "3501"))
	first, ok := rep.Format(ctx, ring1)
	if !ok || !strings.Contains(first.Query, "evento=ringing") {
		t.Fatalf("ring: %+v %v", first, ok)
	}
	if _, ok := rep.Format(ctx, end1); !ok {
		t.Fatal("end not reported")
	}
	if _, ok := rep.Format(ctx, ring2); ok || n.count() != 1 {
		t.Fatalf("a short caller was reported, or not noted once (%d notes)", n.count())
	}
	// Again from 1: the same reports, nothing decided twice.
	again, ok := rep.Format(ctx, ring1)
	if !ok || again.Query != first.Query {
		t.Fatalf("ring delivered again: %+v", again)
	}
	if _, ok := rep.Format(ctx, ring2); ok || n.count() != 1 {
		t.Fatalf("redelivery decided again: %d notes", n.count())
	}
}

// A CRM that hangs up while its dial is still queued behind the agent's
// other commands has the dial dropped (REQUESTER_GONE), never sent later.
func TestSeniorClickToDialRequesterGone(t *testing.T) {
	r := newRig(t, nil)
	gate := make(chan struct{})
	r.fake.Handle = func(ctx context.Context, cmd relay.Command) ([]relay.Frame, error) {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return []relay.Frame{relay.OK(cmd.Login)}, nil
	}
	base := r.clickToDial(func(h *crm.ClickToDial) { h.Wait = time.Minute })
	first := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, base+"?origem=3501&destino=2001", nil)
		req.SetBasicAuth("jose", "s3nha")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			first <- 0
			return
		}
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	until(t, "the first dial at the switch", func() bool { return len(r.fake.Calls()) == 1 })
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"?origem=3501&destino=2002", nil)
	req.SetBasicAuth("jose", "s3nha")
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	until(t, "the second dial queued", func() bool {
		j, _ := r.store.Journal(context.Background(), 0, 100)
		n := 0
		for _, e := range j {
			if e.Kind == relay.KindCommand {
				n++
			}
		}
		return n == 2
	})
	cancel()
	<-gone
	until(t, "the second dial marked abandoned", func() bool {
		for _, row := range r.store.Inbox() {
			if row.Frame == "<jose><A><><2002><>$" && row.Verb.IsRefused() {
				return true
			}
		}
		return false
	})
	close(gate)
	if status := <-first; status != http.StatusOK {
		t.Fatalf("the first dial answered %d", status)
	}
	until(t, "the second dial dead-lettered", func() bool {
		for _, d := range r.store.Dead() {
			if strings.HasPrefix(d.Reason, relay.ReasonRequesterGone) {
				return true
			}
		}
		return false
	})
	r.flush()
	if calls := r.fake.Calls(); len(calls) != 1 {
		t.Fatalf("the switch got %d dials: %+v", len(calls), calls)
	}
}
