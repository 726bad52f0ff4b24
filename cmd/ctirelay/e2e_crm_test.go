package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
)

// crmReceiver is a Senior-style CRM taking call notifications.
type crmReceiver struct {
	mu      sync.Mutex
	reports []url.Values
	srv     *httptest.Server
}

func newCRMReceiver(t *testing.T) *crmReceiver {
	c := &crmReceiver{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		c.mu.Lock()
		c.reports = append(c.reports, r.Form)
		c.mu.Unlock()
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *crmReceiver) got() []url.Values {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.reports)
}

// call is one HTTP request to the relay: status and body.
func call(t *testing.T, method, u string, hdr ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// TestE2ECRMBridge runs the relay on the sim switch with bridges.crm on the
// HTTP bridge's listener (which has a bearer token): a Senior-style CRM
// dials through the click-to-dial route with its own token_auth and
// receives its agents' calls with the configured names through the
// bridge's webhook "senior" (in /v1/webhooks and `ctirelay webhooks
// list`); a Divalto-style poller sees ring for the sim's inbound calls,
// enriched from a table in the database; a suppressed pop is a journal row
// of kind note with the rule.
func TestE2ECRMBridge(t *testing.T) {
	t.Parallel()
	crmSrv := newCRMReceiver(t)
	addr := freeAddr(t)
	dir := t.TempDir()
	cfg := writeFile(t, filepath.Join(dir, "ctirelay.yaml"), fmt.Sprintf(`
switch:
  driver: sim
  sim: {seed: 3, inbound_per_minute: 120, ring_time: 0s, talk_time: 300ms}
bridges:
  socket: {listen: ""}
  http:
    tokens:
      - {name: erp, secret: erp-secret-0123456789, groups: [commands, admin]}
  crm:
    senior:
      clicktodial: true
      auth: 2
      token: ${CTIRELAY_TEST_CRM_TOKEN:-tok}
      wait: 5s
      agents:
        jose: {extension: "7001"}
      notify_url: %s/wconnect/WConnect_MonitoraRamal.php
      vars: {origin: num_origem, destination: num_destino, origin_out: ramal_sainte, destination_out: numero_sainte}
    divalto:
      enabled: true
      setevent: true
      token: div-tok
      agents: {maria: "7002", ana: "7003"}
      customer_code: code
      customer_name: name
    screen_pop:
      min_length: 6
      lookup:
        query: "SELECT code, name FROM tiers WHERE ? <> ''"
        timeout: 2s
`, crmSrv.srv.URL))
	relay := startRelay(t, dir, "--config", cfg, "--http-listen", addr)
	if strings.Contains(relay.logText(), "crm bridge listening") {
		t.Fatal("the crm routes have a listener of their own")
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "ctirelay.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE tiers (code TEXT, name TEXT); INSERT INTO tiers VALUES ('C9', 'Acme Ltda')`); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"<jose><L><ON>$", "<maria><L><ON>$"} {
		if _, err := db.Exec(`INSERT INTO T_TTI (DS_TTI) VALUES (?)`, f); err != nil {
			t.Fatal(err)
		}
	}
	wait.Within(t, 20*time.Second, "both agents logged on", func() bool {
		return count(t, db, "SELECT count(*) FROM T_TTO WHERE DS_TTO IN ('<jose><OK>$', '<maria><OK>$')") == 2
	})
	base := "http://" + addr

	// Senior dials through the relay, on the HTTP bridge's port, with its
	// own token (no bearer token).
	dial := base + "/api/clicktodial?origem=7001&destino=4732100123"
	if status, b := call(t, "GET", dial, "token_auth", "tok"); status != http.StatusOK || !strings.Contains(b, `"result":"OK"`) {
		t.Fatalf("click-to-dial answered %d %s", status, b)
	}
	if status, _ := call(t, "GET", dial, "token_auth", "wrong"); status != http.StatusUnauthorized {
		t.Fatalf("a wrong token answered %d", status)
	}
	if status, _ := call(t, "GET", base+"/v1/status"); status != http.StatusUnauthorized {
		t.Fatalf("the bridge's own routes are open: %d", status)
	}
	wait.Within(t, 20*time.Second, "the CRM told of the dialled call", func() bool {
		return slices.ContainsFunc(crmSrv.got(), func(r url.Values) bool {
			return r.Get("ramal_sainte") == "7001" && r.Get("numero_sainte") == "4732100123"
		})
	})
	// The notifications are the bridge's webhook "senior".
	wait.Within(t, 20*time.Second, "the senior webhook's deliveries in /v1/webhooks", func() bool {
		status, b := call(t, "GET", base+"/v1/webhooks", "Authorization", "Bearer erp-secret-0123456789")
		var out struct {
			Webhooks []struct {
				Name      string
				Delivered int64
			}
		}
		_ = json.Unmarshal([]byte(b), &out)
		return status == 200 && len(out.Webhooks) == 1 && out.Webhooks[0].Name == "senior" && out.Webhooks[0].Delivered > 0
	})
	if out, errOut, code := ctl(t, dir, "webhooks", "list", "--config", cfg); code != 0 || !strings.Contains(out, "senior") || !strings.Contains(out, "enabled") {
		t.Fatalf("webhooks list (%d): %s %s", code, out, errOut)
	}

	// Divalto polls maria's extension, with its own token in the URL.
	getevent := base + "/DhDivaltoServerCTI/api/cti/getevent?ident=&telorg="
	if status, _ := call(t, "GET", getevent+"7002"); status != http.StatusUnauthorized {
		t.Fatalf("getevent without a token answered %d", status)
	}
	var pop map[string]string
	wait.Within(t, 30*time.Second, "a pop for 7002", func() bool {
		status, b := call(t, "GET", getevent+"7002&token=div-tok")
		var m map[string]string
		if status != 200 || json.Unmarshal([]byte(b), &m) != nil || m["event"] != "ring" {
			return false
		}
		pop = m
		return true
	})
	if pop["code"] != "C9" || pop["name"] != "Acme Ltda" || len(pop["tel"]) < 6 {
		t.Fatalf("pop = %v", pop)
	}

	// A short caller pushed by setevent: the R reaches T_TTO, the pop is
	// suppressed, and the journal says which rule did it.
	if status, b := call(t, "GET", base+"/DhDivaltoServerCTI/api/cti/setevent?telorg=7003&tel=123&ident=x1", "Authorization", "Bearer erp-secret-0123456789"); status != 200 {
		t.Fatalf("setevent answered %d %s", status, b)
	}
	wait.Within(t, 20*time.Second, "the suppressed pop journaled", func() bool {
		return count(t, db, "SELECT count(*) FROM relay_journal WHERE kind = 'note' AND agent = 'ana' AND source_ref = 'pop-suppressed' AND frame LIKE 'min_length:%' AND origin = 'crm:screen-pop'") == 1
	})
	if n := count(t, db, "SELECT count(*) FROM T_TTO WHERE DS_TTO = '<ana><R><setevent><><123><><7003><><x1>$'"); n != 1 {
		t.Fatalf("the R of the suppressed pop is not in T_TTO (%d)", n)
	}
	if status, b := call(t, "GET", getevent+"7003&token=div-tok"); status != 200 || b != "" {
		t.Fatalf("a suppressed pop was served: %d %q", status, b)
	}
	// An unknown extension is journaled too.
	if status, _ := call(t, "GET", base+"/api/clicktodial?origem=9999&destino=4732100123", "token_auth", "tok"); status != http.StatusNotFound {
		t.Fatalf("unknown extension answered %d", status)
	}
	wait.Within(t, 20*time.Second, "the unknown extension journaled", func() bool {
		return count(t, db, "SELECT count(*) FROM relay_journal WHERE kind = 'note' AND source_ref = 'unknown-extension' AND origin = 'crm:clicktodial'") == 1
	})
	relay.stop()
}

// TestE2ECRMNotesOnPostgres: on PostgreSQL too, a pop the rules suppress
// is a journal row of kind note naming the rule, the consumer and the
// agent, beside the R event that still reached T_TTO; an unknown
// extension is one as well.
func TestE2ECRMNotesOnPostgres(t *testing.T) {
	t.Parallel()
	r := newPGRig(t, `
switch: {driver: sim}
bridges:
  socket: {listen: ""}
  crm:
    divalto:
      enabled: true
      setevent: true
      agents: {ana: "7003"}
    screen_pop:
      exceptions: ["0388000000"]
`)
	addr := freeAddr(t)
	relay := startRelay(t, r.dir, "--db", r.dsn, "--config", r.cfg, "--http-listen", addr)
	base := "http://" + addr + "/DhDivaltoServerCTI/api/cti/"
	if status, b := call(t, "POST", base+"setevent?telorg=7003&tel=03%2088%2000%2000%2000&ident=p1"); status != 200 {
		t.Fatalf("setevent answered %d %s", status, b)
	}
	if status, _ := call(t, "GET", base+"setevent?telorg=7999&tel=0388202122"); status != http.StatusNotFound {
		t.Fatalf("setevent for an unknown extension answered %d", status)
	}
	wait.Within(t, 20*time.Second, "the notes in relay_journal", func() bool {
		return count(t, r.db, `SELECT count(*) FROM relay_journal WHERE kind = 'note' AND direction = 'out' AND agent = 'ana'
			AND source_ref = 'pop-suppressed' AND frame LIKE 'exceptions:%' AND origin = 'crm:screen-pop'`) == 1 &&
			count(t, r.db, `SELECT count(*) FROM relay_journal WHERE kind = 'note' AND source_ref = 'unknown-extension' AND frame LIKE '%7999%'`) == 1
	})
	if n := count(t, r.db, `SELECT count(*) FROM T_TTO WHERE DS_TTO LIKE '<ana><R><setevent>%'`); n != 1 {
		t.Fatalf("the R of the suppressed pop is not in T_TTO (%d)", n)
	}
	if status, b := call(t, "GET", base+"getevent?ident=&telorg=7003"); status != 200 || b != "" {
		t.Fatalf("a suppressed pop was served: %d %q", status, b)
	}
	relay.stop()
}

// TestE2EClickToDialPlatformTimesOut: Senior dials through the relay, whose
// httpdial platform takes the request and never answers. The dial is in
// doubt: Senior gets 422 IN_DOUBT, the platform saw exactly one request
// (no redial), and the dial is a dead letter.
func TestE2EClickToDialPlatformTimesOut(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []string
	release := make(chan struct{})
	platform := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.URL.String())
		mu.Unlock()
		<-release
	}))
	t.Cleanup(platform.Close)
	t.Cleanup(func() { close(release) })
	u, _ := url.Parse(platform.URL)
	addr := freeAddr(t)
	dir := t.TempDir()
	cfg := writeFile(t, filepath.Join(dir, "ctirelay.yaml"), fmt.Sprintf(`
switch:
  driver: httpdial
  httpdial:
    protocol: http
    host: %s
    port: %s
    path: api/clicktodial
    request_timeout: 1s
    agents:
      jose: {extension: "3501"}
bridges:
  socket: {listen: ""}
  crm:
    senior:
      clicktodial: true
      auth: 1
      wait: 8s
      agents:
        jose: {extension: "3501", user: jose, password: s3nha}
`, u.Hostname(), u.Port()))
	relay := startRelay(t, dir, "--config", cfg, "--http-listen", addr)
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/api/clicktodial?origem=3501&destino=4732100123", nil)
	req.SetBasicAuth("jose", "s3nha")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(body), `"code":"IN_DOUBT"`) {
		t.Fatalf("a dial in doubt answered %d %s", resp.StatusCode, body)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "ctirelay.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n := count(t, db, "SELECT count(*) FROM relay_dead WHERE reason LIKE 'in-doubt%'"); n != 1 {
		t.Fatalf("%d dead letters in doubt", n)
	}
	relay.stop() // nothing left that could dial again
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0] != "/api/clicktodial?origem=3501&destino=4732100123" {
		t.Fatalf("the platform got %q", got)
	}
}

// TestE2ESeniorThroughASimPlatform is the integrator's whole loop from the
// binaries: `ctirelay sim --clicktodial --notify` is the click-to-dial
// platform, reporting its calls to the relay's platform route (with the
// route's own token); the relay drives it with httpdial. A Senior-style CRM
// dials through the relay's click-to-dial route (auth 1) and is told of the
// call (answer, then end with the recording) through the senior webhook.
func TestE2ESeniorThroughASimPlatform(t *testing.T) {
	t.Parallel()
	crmSrv := newCRMReceiver(t)
	relayAddr, ctd := freeAddr(t), freeAddr(t)
	startSimServer(t, freeAddr(t), "--ring-time", "0s", "--talk-time", "1s",
		"--clicktodial", ctd, "--auth", "2", "--auth-token", "plat-tok",
		"--notify", "http://"+relayAddr+"/v1/platform/httpdial/call?token=report-tok")
	wait.Within(t, 20*time.Second, "the click-to-dial platform on "+ctd, func() bool {
		c, err := net.Dial("tcp", ctd)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	host, port, _ := strings.Cut(ctd, ":")
	dir := t.TempDir()
	cfg := writeFile(t, filepath.Join(dir, "ctirelay.yaml"), fmt.Sprintf(`
switch:
  driver: httpdial
  httpdial:
    protocol: http
    host: %s
    port: %s
    path: api/clicktodial
    auth: 2
    token: plat-tok
    agents:
      jose: {extension: "3501"}
bridges:
  socket: {listen: ""}
  crm:
    platform_reports: true
    platform_token: report-tok
    senior:
      clicktodial: true
      auth: 1
      agents:
        jose: {extension: "3501", user: jose, password: s3nha}
      notify_url: %s/wconnect/WConnect_MonitoraRamal.php
      notify_method: POST
`, host, port, crmSrv.srv.URL))
	relay := startRelay(t, dir, "--config", cfg, "--http-listen", relayAddr)
	req, _ := http.NewRequest(http.MethodGet, "http://"+relayAddr+"/api/clicktodial?origem=3501&destino=4732100123", nil)
	req.SetBasicAuth("jose", "s3nha")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("click-to-dial answered %d %s", resp.StatusCode, body)
	}
	wait.Within(t, 20*time.Second, "the call's end told to the CRM", func() bool {
		return slices.ContainsFunc(crmSrv.got(), func(r url.Values) bool { return r.Get("evento") == "end" })
	})
	var events []string
	for _, r := range crmSrv.got() {
		events = append(events, r.Get("evento"))
		if r.Get("origem_sainte") != "3501" || r.Get("destino_sainte") != "4732100123" {
			t.Errorf("report %v is not 3501 → 4732100123 under Senior's names", r)
		}
	}
	if !slices.Equal(events, []string{"answer", "end"}) {
		t.Fatalf("the CRM was told %q", events)
	}
	if last := crmSrv.got()[1]; !strings.Contains(last.Get("audio"), "/gravacoes/") {
		t.Fatalf("the end has no recording: %v", last)
	}
	// A report without the route's token is refused.
	if status, _ := call(t, "GET", "http://"+relayAddr+"/v1/platform/httpdial/call?evento=ringing&origem=1&destino=3501"); status != http.StatusUnauthorized {
		t.Fatalf("a report without the token answered %d", status)
	}
	relay.stop()
}
