package main

import (
	"fmt"
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

// TestE2ERelayDialsThroughAClickToDialPlatform points the relay's httpdial
// driver at `ctirelay sim --clicktodial`: a dial row in T_TTI reaches the
// platform as the document's URL (token in it, mode 3) and is answered OK in
// T_TTO; the platform reports the call to a CRM with the configured
// variable names; the token appears in no log and no journal row.
func TestE2ERelayDialsThroughAClickToDialPlatform(t *testing.T) {
	t.Parallel()
	const token = "e2e-TOKEN-secret"
	var mu sync.Mutex
	var reports []url.Values
	crm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		mu.Lock()
		reports = append(reports, r.Form)
		mu.Unlock()
	}))
	defer crm.Close()
	got := func() []url.Values {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(reports)
	}

	ctd := freeAddr(t)
	startSimServer(t, freeAddr(t), "--ring-time", "0s", "--talk-time", "1s",
		"--clicktodial", ctd, "--auth", "3", "--auth-token", token,
		"--notify", crm.URL+"/wconnect/ligacao", "--var-event", "tipo",
		"--var-origin-out", "ramal_origem", "--var-destination-out", "numero_destino", "--var-audio", "url_gravacao")
	wait.Within(t, 20*time.Second, "the click-to-dial platform on "+ctd, listening(ctd))
	host, port, _ := net.SplitHostPort(ctd)
	dir := t.TempDir()
	cfg := writeFile(t, filepath.Join(dir, "ctirelay.yaml"), fmt.Sprintf(`
switch:
  driver: httpdial
  httpdial:
    protocol: http
    host: %s
    port: %s
    path: api/clicktodial
    auth: 3
    token: %s
    zero_ddd: true
    agents:
      jose: {extension: "3501"}
`, host, port, token))
	relay := startRelay(t, dir, "--config", cfg)
	db := relayDB(t, dir)
	tto := func() []string { return outbound(t, db) }
	if _, err := db.Exec(`INSERT INTO T_TTI (DS_TTI) VALUES (?)`, "<jose><A><85><40050500><>$"); err != nil {
		t.Fatal(err)
	}
	wait.Within(t, 20*time.Second, "the dial's OK", func() bool { return slices.Contains(tto(), "<jose><OK>$") })
	wait.Within(t, 20*time.Second, "the call's end reported", func() bool {
		return slices.ContainsFunc(got(), func(q url.Values) bool { return q.Get("tipo") == "end" })
	})
	var kinds []string
	for _, q := range got() {
		kinds = append(kinds, q.Get("tipo"))
		if q.Get("ramal_origem") != "3501" || q.Get("numero_destino") != "08540050500" {
			t.Errorf("report %v: not 3501 → 08540050500 (usa_zero_ddd) under the configured names", q)
		}
	}
	if !slices.Equal(kinds, []string{"start", "ringing", "answer", "end"}) {
		t.Fatalf("reports %q", kinds)
	}
	if last := got()[len(kinds)-1]; !strings.Contains(last.Get("url_gravacao"), "/gravacoes/") {
		t.Fatalf("the end carries no recording: %v", last)
	}
	relay.stop()
	if log := relay.logText(); strings.Contains(log, token) || !strings.Contains(log, "token=REDACTED") {
		t.Fatalf("the relay's log shows the token, or not the redacted URL:\n%s", log)
	}
	for _, row := range column(t, db, "SELECT frame || ' ' || COALESCE(outcome, '') FROM relay_journal") {
		if strings.Contains(row, token) {
			t.Fatalf("the journal carries the token: %s", row)
		}
	}
}
