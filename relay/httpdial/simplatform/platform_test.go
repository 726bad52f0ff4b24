package simplatform_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/drivertest"
	"github.com/ctirelay/ctirelay/relay/httpdial"
	"github.com/ctirelay/ctirelay/relay/httpdial/simplatform"
	"github.com/ctirelay/ctirelay/relay/relaytest"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
	"github.com/ctirelay/ctirelay/relay/sim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// crm receives the platform's reports.
type crm struct {
	mu      sync.Mutex
	reports []url.Values
	srv     *httptest.Server
}

func newCRM(t *testing.T) *crm {
	c := &crm{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		c.mu.Lock()
		c.reports = append(c.reports, r.Form)
		c.mu.Unlock()
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *crm) got() []url.Values {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.reports)
}

type rig struct {
	clock *relaytest.Clock
	sw    *sim.Switch
	p     *simplatform.Platform
	crm   *crm
}

func start(t *testing.T, cfg simplatform.Config) *rig {
	t.Helper()
	r := &rig{clock: relaytest.NewClock(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)), crm: newCRM(t)}
	sw, err := sim.New(sim.Config{Seed: 1, Clock: r.clock, TalkTime: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if err := sw.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sw.Stop)
	cfg.Addr, cfg.Switch, cfg.NotifyURL = "127.0.0.1:0", sw, r.crm.srv.URL+"/crm/ligacao"
	p, err := simplatform.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	r.sw, r.p = sw, p
	return r
}

func (r *rig) driverConfig(t *testing.T) httpdial.Config {
	host, port, err := net.SplitHostPort(r.p.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return httpdial.Config{Protocol: "http", Host: host, Port: port, Path: "api/clicktodial",
		Agents: map[string]httpdial.Agent{"jose": {Extension: "3501"}}}
}

func newDriver(t *testing.T, cfg httpdial.Config) *httpdial.Driver {
	d, err := httpdial.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// The driver dials the platform; the platform's reports, read with the same
// variable names, become the agent's events in the driver.
func TestDialAndReports(t *testing.T) {
	t.Parallel()
	vars := httpdial.Vars{Event: "tipo", OriginOut: "ramal_origem", DestinationOut: "numero_destino", Audio: "url_audio"}
	r := start(t, simplatform.Config{Auth: httpdial.AuthBasicHeader, Credentials: httpdial.Credentials{User: "u", Password: "p", Token: "t"}, Vars: vars})
	cfg := r.driverConfig(t)
	cfg.Auth, cfg.Global, cfg.Vars = httpdial.AuthBasicHeader, httpdial.Credentials{User: "u", Password: "p", Token: "t"}, vars
	d := newDriver(t, cfg)
	events := &collect{}
	if err := d.Open(context.Background(), events); err != nil {
		t.Fatal(err)
	}
	f, err := d.Execute(context.Background(), drivertest.Command(t, "<jose><A><85><40050500><>$"))
	if err != nil || f[0].String() != "<jose><OK>$" {
		t.Fatalf("dial = %v, %v", f, err)
	}
	wait.For(t, "start, ringing, answer", func() bool { return len(r.crm.got()) >= 3 })
	r.clock.Advance(time.Minute)
	wait.For(t, "the end", func() bool { return len(r.crm.got()) >= 4 })
	got := r.crm.got()
	var kinds []string
	for _, q := range got {
		kinds = append(kinds, q.Get("tipo"))
		if q.Get("ramal_origem") != "3501" || q.Get("numero_destino") != "8540050500" {
			t.Errorf("report %v: not 3501 → 8540050500 with the configured names", q)
		}
	}
	if !slices.Equal(kinds, []string{"start", "ringing", "answer", "end"}) {
		t.Fatalf("reports %q", kinds)
	}
	audio := got[3].Get("url_audio")
	if !strings.HasPrefix(audio, "http://"+r.p.Addr().String()+simplatform.RecordingsPath) {
		t.Fatalf("audio %q", audio)
	}
	resp, err := http.Get(audio)
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "audio/wav" {
		t.Fatalf("the recording: %v %v", resp, err)
	}
	resp.Body.Close()

	v, _ := vars.WithDefaults()
	for _, q := range got {
		n, err := v.Parse(q.Get)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Notify(context.Background(), n); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"<jose><A><><><3501><><8540050500><><><>$", "<jose><G><" + audio + ">$", "<jose><EndCall>$"}
	if !slices.Equal(events.all(), want) {
		t.Fatalf("events %q, want %q", events.all(), want)
	}
}

// The hang-up URL ends the extension's call, reported as ended.
func TestHangUp(t *testing.T) {
	t.Parallel()
	r := start(t, simplatform.Config{NotifyMethod: "GET"})
	cfg := r.driverConfig(t)
	cfg.Templates = map[relay.Verb]string{"D": "$protocolo://$ip:$porta/api/hangup?$nomeOrigem=$ramal"}
	d := newDriver(t, cfg)
	ends := func() int {
		n := 0
		for _, q := range r.crm.got() {
			if q.Get("evento") == "end" {
				n++
			}
		}
		return n
	}
	// Two calls, each hung up: an answer the switch sends after the first
	// hang-up is not reported as the first call's (nor after its end).
	for i := 1; i <= 2; i++ {
		if _, err := d.Execute(context.Background(), drivertest.Command(t, "<jose><A><><40050500><>$")); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Execute(context.Background(), drivertest.Command(t, "<jose><D>$")); err != nil {
			t.Fatal(err)
		}
		wait.For(t, "the end", func() bool { return ends() == i })
	}
	var kinds []string
	for _, q := range r.crm.got() {
		kinds = append(kinds, q.Get("evento"))
	}
	// Each call answered at once (ring time 0) or hung up before its answer came.
	if !regexp.MustCompile(`^(start ringing (answer )?end ){2}$`).MatchString(strings.Join(kinds, " ") + " ") {
		t.Fatalf("reports %q", kinds)
	}
	if _, err := d.Execute(context.Background(), drivertest.Command(t, "<jose><D>$")); relay.AsProtocolError(err).Message != "the platform answered 409: no current call" {
		t.Fatalf("D with no call: %v", err)
	}
}

// Requests without the configured authentication are refused (401, a
// permanent ERR for the driver), for each mode.
func TestAuthRefused(t *testing.T) {
	t.Parallel()
	creds := httpdial.Credentials{User: "u", Password: "p", Token: "t"}
	for _, mode := range []httpdial.AuthMode{httpdial.AuthBasic, httpdial.AuthHeader, httpdial.AuthURLToken, httpdial.AuthBasicHeader} {
		r := start(t, simplatform.Config{Auth: mode, Credentials: creds})
		wrongs := []httpdial.Credentials{{User: "u", Password: "x", Token: "t"}, {User: "x", Password: "p", Token: "t"}, {User: "u", Password: "p", Token: "x"}}
		if mode == httpdial.AuthHeader || mode == httpdial.AuthURLToken {
			wrongs = wrongs[2:] // no user and password in these modes
		}
		if mode == httpdial.AuthBasic {
			wrongs = wrongs[:2]
		}
		for _, wrong := range wrongs {
			cfg := r.driverConfig(t)
			cfg.Auth, cfg.Global = mode, wrong
			_, err := newDriver(t, cfg).Execute(context.Background(), drivertest.Command(t, "<jose><A><><40050500><>$"))
			var pe *relay.ProtocolError
			if !errors.As(err, &pe) || !strings.Contains(pe.Message, "401") {
				t.Errorf("mode %d with %+v: %v, want a 401 refusal", mode, wrong, err)
			}
		}
		cfg := r.driverConfig(t)
		cfg.Auth, cfg.Global = mode, creds
		if _, err := newDriver(t, cfg).Execute(context.Background(), drivertest.Command(t, "<jose><A><><40050500><>$")); err != nil {
			t.Errorf("mode %d with the right credentials: %v", mode, err)
		}
	}
}

// Bad requests name what is wrong.
func TestBadRequests(t *testing.T) {
	t.Parallel()
	r := start(t, simplatform.Config{})
	base := "http://" + r.p.Addr().String()
	for _, c := range []struct {
		path   string
		status int
	}{
		{"/api/clicktodial?destino=123", 400},
		{"/api/clicktodial?origem=3501", 400},
		{"/api/clicktodial?origem=35a1&destino=123", 400},
		{"/api/other?origem=3501&destino=123", 404},
	} {
		resp, err := http.Get(base + c.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("GET %s = %d, want %d", c.path, resp.StatusCode, c.status)
		}
	}
}

// An inbound call of the switch is reported with the received-call names.
func TestInboundReports(t *testing.T) {
	t.Parallel()
	clock := relaytest.NewClock(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	sw, err := sim.New(sim.Config{Seed: 1, Clock: clock, InboundPerMinute: 60, TalkTime: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if err := sw.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer sw.Stop()
	c := newCRM(t)
	p, err := simplatform.New(simplatform.Config{Addr: "127.0.0.1:0", Switch: sw, NotifyURL: c.srv.URL,
		Vars: httpdial.Vars{Origin: "numero_cliente", Destination: "ramal_atendente"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	if _, err := sw.Handle(context.Background(), drivertest.Command(t, "<3502><L><ON>$")); err != nil {
		t.Fatal(err)
	}
	wait.For(t, "an inbound call answered and ended", func() bool {
		clock.Advance(10 * time.Second)
		return slices.ContainsFunc(c.got(), func(q url.Values) bool { return q.Get("evento") == "end" })
	})
	got := c.got()
	for _, q := range got[:3] {
		if q.Get("ramal_atendente") != "3502" || len(q.Get("numero_cliente")) < 10 || q.Has("origem") || q.Has("origem_sainte") {
			t.Errorf("report %v: not a received call on 3502 with the configured names", q)
		}
	}
	if kinds := []string{got[0].Get("evento"), got[1].Get("evento"), got[2].Get("evento")}; !slices.Equal(kinds, []string{"ringing", "answer", "end"}) {
		t.Fatalf("reports %v", got)
	}
}

type collect struct {
	mu     sync.Mutex
	frames []string
}

func (c *collect) Event(_ context.Context, f relay.Frame) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.frames = append(c.frames, f.String())
}

func (c *collect) all() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.frames)
}
