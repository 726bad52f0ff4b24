package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
)

func TestCRMBridgeConfigErrorsNameTheKey(t *testing.T) {
	t.Parallel()
	on := "bridges:\n  crm:\n    listen: 127.0.0.1:8490\n"
	for _, c := range []struct{ name, body, want string }{
		{"listen", "bridges:\n  crm:\n    listen: \"8490\"\n", "bridges.crm.listen: must be host:port"},
		{"unknown key", on + "    sennior: {}\n", `unknown key "sennior" in bridges.crm`},
		{"senior path", on + "    senior: {clicktodial: true, path: api/clicktodial, agents: {jose: {extension: \"3501\"}}}\n", "bridges.crm.senior.path: must start with /"},
		{"senior auth", on + "    senior: {clicktodial: true, auth: 9, agents: {jose: {extension: \"3501\"}}}\n", "bridges.crm.senior.auth: 9 is not 0 to 4"},
		{"senior token", on + "    senior: {clicktodial: true, auth: 2, agents: {jose: {extension: \"3501\"}}}\n", "bridges.crm.senior.agents.jose.token: auth 2 needs a token"},
		{"senior agents", on + "    senior: {clicktodial: true}\n", "bridges.crm.senior.agents: must map at least one login"},
		{"notify url", on + "    senior: {notify_url: ftp://crm, agents: {jose: {extension: \"3501\"}}}\n", "bridges.crm.senior.notify_url: must be an http"},
		{"notify method", on + "    senior: {notify_url: http://crm, notify_method: PUT, agents: {jose: {extension: \"3501\"}}}\n", "bridges.crm.senior.notify_method: must be GET or POST"},
		{"vars", on + "    senior: {vars: {origin: x, destination: x}}\n", "bridges.crm.senior.vars:"},
		{"divalto agents", on + "    divalto: {enabled: true}\n", "bridges.crm.divalto.agents: must map"},
		{"divalto pop_on", on + "    divalto: {enabled: true, pop_on: always, agents: {jose: \"1024\"}}\n", "bridges.crm.divalto.pop_on:"},
		{"divalto type", on + "    divalto: {enabled: true, type_return: csv, agents: {jose: \"1024\"}}\n", "bridges.crm.divalto.type_return:"},
		{"min length", on + "    screen_pop: {min_length: -3}\n", "bridges.crm.screen_pop.min_length: must not be negative"},
		{"no match without lookup", on + "    screen_pop: {suppress_no_match: true}\n", "bridges.crm.screen_pop.suppress_no_match: needs lookup.query"},
		{"exception", on + "    screen_pop: {exceptions: [abc]}\n", "bridges.crm.screen_pop.exceptions[0]:"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := LoadConfig(writeConfig(t, c.body))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
}

// TestE2ECRMBridge runs the relay on the sim switch with bridges.crm: a
// Senior-style CRM dials through the click-to-dial route and receives its
// agents' calls with the configured names, and a Divalto-style poller sees
// ring for the sim's inbound calls, enriched from a table in the database.
func TestE2ECRMBridge(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var reports []url.Values
	crmSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		mu.Lock()
		reports = append(reports, r.Form)
		mu.Unlock()
	}))
	defer crmSrv.Close()

	addr := freeAddr(t)
	dir := t.TempDir()
	cfg := writeFile(t, filepath.Join(dir, "ctirelay.yaml"), fmt.Sprintf(`
switch:
  driver: sim
  sim: {seed: 3, inbound_per_minute: 120, ring_time: 0s, talk_time: 300ms}
bridges:
  socket: {listen: ""}
  crm:
    listen: %s
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
      agents: {maria: "7002"}
      customer_code: code
      customer_name: name
    screen_pop:
      min_length: 6
      lookup:
        query: "SELECT code, name FROM tiers WHERE ? <> ''"
        timeout: 2s
`, addr, crmSrv.URL))
	startRelay(t, dir, "--config", cfg)
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
	wait.Within(t, 20*time.Second, "the crm bridge on "+addr, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})

	// Senior dials through the relay.
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/api/clicktodial?origem=7001&destino=4732100123", nil)
	req.Header.Set("token_auth", "tok")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("click-to-dial answered %d", resp.StatusCode)
	}
	req.Header.Set("token_auth", "wrong")
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a wrong token answered %d", resp.StatusCode)
	}
	wait.Within(t, 20*time.Second, "the CRM told of the dialled call", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range reports {
			if r.Get("ramal_sainte") == "7001" && r.Get("numero_sainte") == "4732100123" {
				return true
			}
		}
		return false
	})

	// Divalto polls maria's extension.
	var pop map[string]string
	wait.Within(t, 30*time.Second, "a pop for 7002", func() bool {
		resp, err := http.Get("http://" + addr + "/DhDivaltoServerCTI/api/cti/getevent?ident=&telorg=7002")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var m map[string]string
		if json.NewDecoder(resp.Body).Decode(&m) != nil || m["event"] != "ring" {
			return false
		}
		pop = m
		return true
	})
	if pop["code"] != "C9" || pop["name"] != "Acme Ltda" || len(pop["tel"]) < 6 {
		t.Fatalf("pop = %v", pop)
	}
}
