package main

import (
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestCRMBridgeConfigErrorsNameTheKey(t *testing.T) {
	t.Parallel()
	on := "bridges:\n  crm:\n"
	for _, c := range []struct{ name, body, want string }{
		{"listen", "bridges:\n  crm:\n    listen: 127.0.0.1:8490\n", "bridges.crm.listen: removed: the crm routes are served on the HTTP bridge's listener"},
		{"unknown key", on + "    sennior: {}\n", `unknown key "sennior" in bridges.crm`},
		{"senior path", on + "    senior: {clicktodial: true, path: api/clicktodial, agents: {jose: {extension: \"3501\"}}}\n", "bridges.crm.senior.path: must start with /"},
		{"senior path on the bridge's routes", on + "    senior: {clicktodial: true, path: /v1/commands, agents: {jose: {extension: \"3501\"}}}\n", "bridges.crm.senior.path: \"/v1/commands\" is under the HTTP bridge's own routes"},
		{"divalto prefix on the bridge's routes", on + "    divalto: {enabled: true, prefix: /v1, agents: {jose: \"1024\"}}\n", "bridges.crm.divalto.prefix: \"/v1\" is under"},
		{"senior auth", on + "    senior: {clicktodial: true, auth: 9, agents: {jose: {extension: \"3501\"}}}\n", "bridges.crm.senior.auth: 9 is not 0 to 4"},
		{"senior token", on + "    senior: {clicktodial: true, auth: 2, agents: {jose: {extension: \"3501\"}}}\n", "bridges.crm.senior.agents.jose.token: auth 2 needs a token"},
		{"senior agents", on + "    senior: {clicktodial: true}\n", "bridges.crm.senior.agents: must map at least one login"},
		{"notify url", on + "    senior: {notify_url: ftp://crm, agents: {jose: {extension: \"3501\"}}}\n", "bridges.crm.senior.notify_url: must be an http"},
		{"notify method", on + "    senior: {notify_url: http://crm, notify_method: PUT, agents: {jose: {extension: \"3501\"}}}\n", "bridges.crm.senior.notify_method: must be GET or POST"},
		{"vars", on + "    senior: {vars: {origin: x, destination: x}}\n", "bridges.crm.senior.vars:"},
		{"notify agents", on + "    senior: {notify_url: http://crm}\n", "bridges.crm.senior.agents: must map"},
		{"divalto agents", on + "    divalto: {enabled: true}\n", "bridges.crm.divalto.agents: must map"},
		{"divalto pop_on", on + "    divalto: {enabled: true, pop_on: always, agents: {jose: \"1024\"}}\n", "bridges.crm.divalto.pop_on:"},
		{"divalto type", on + "    divalto: {enabled: true, type_return: csv, agents: {jose: \"1024\"}}\n", "bridges.crm.divalto.type_return:"},
		{"min length", on + "    screen_pop: {min_length: -3}\n", "bridges.crm.screen_pop.min_length: must not be negative"},
		{"no match without lookup", on + "    screen_pop: {suppress_no_match: true}\n", "bridges.crm.screen_pop.suppress_no_match: needs lookup.query"},
		{"exception", on + "    screen_pop: {exceptions: [abc]}\n", "bridges.crm.screen_pop.exceptions[0]:"},
		{"pop agent", on + "    screen_pop: {agents: {jose: \"\"}}\n", "bridges.crm.screen_pop.agents.jose: empty extension"},
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

// The crm routes live on the HTTP bridge: with it off (--http-listen "")
// the relay refuses to start rather than silently serving nothing.
func TestCRMRoutesNeedTheHTTPBridge(t *testing.T) {
	t.Parallel()
	var cfg Config
	cfg.Bridges.CRM.Divalto = DivaltoConfig{Enabled: true, Agents: map[string]string{"jose": "1024"}}
	_, err := newCRMRoutes(cfg, nil, nil, nil, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "bridges.http.listen") {
		t.Fatalf("error %v", err)
	}
	cfg.Bridges.HTTP.Listen = "127.0.0.1:0"
	cfg.Bridges.CRM.Senior.Wait = Duration(2 * time.Minute)
	if _, err := newCRMRoutes(cfg, nil, nil, nil, nil, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "bridges.crm.senior.wait") {
		t.Fatalf("a wait over wait_max: %v", err)
	}
	cfg.Bridges.CRM = CRMBridgeConfig{}
	if r, err := newCRMRoutes(cfg, nil, nil, nil, nil, nil); r != nil || err != nil {
		t.Fatalf("nothing configured gave %v %v", r, err)
	}
}
