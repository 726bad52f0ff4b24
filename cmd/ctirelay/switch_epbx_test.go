package main

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/ctirelay/ctirelay/relay"
)

func TestEPBXConfig(t *testing.T) {
	t.Setenv("CTIRELAY_TEST_EPBX_PASSWORD", "pa55")
	cfg, err := LoadConfig(writeConfig(t, `
switch:
  driver: epbx
  epbx:
    base_url: https://pbx.example
    client_id: ctirelay
    token_in: query
    pauses: {"1": 5}
    agents:
      jose: {username: jose.silva, password: "${CTIRELAY_TEST_EPBX_PASSWORD}", logon: IdPa, target: "12", extension: "7001"}
`))
	if err != nil {
		t.Fatal(err)
	}
	e := cfg.Switch.EPBX
	if e.BaseURL != "https://pbx.example" || e.Agents["jose"].Password != "pa55" || e.Pauses["1"] != 5 || e.TokenIn != "query" {
		t.Fatalf("switch.epbx = %+v", e)
	}
	d, err := newDriver(cfg, nil, nil, relay.SystemClock{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	_ = d.Close()
}

func TestEPBXConfigErrorsNameTheKey(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ body, want string }{
		{"switch: {driver: epbx}", "switch.epbx.base_url"},
		{"switch: {driver: epbx, epbx: {base_url: ftp://x}}", "switch.epbx.base_url"},
		{"switch: {driver: epbx, epbx: {base_url: http://x}}", "switch.epbx.agents"},
		{"switch: {driver: epbx, epbx: {base_url: http://x, token_in: cookie, agents: {jose: {username: j, password: p, logon: Ip, target: 10.0.0.1}}}}", "switch.epbx.token_in"},
		{"switch: {driver: epbx, epbx: {base_url: http://x, agents: {jose: {password: p, logon: Ip, target: t}}}}", "switch.epbx.agents.jose.username"},
		{"switch: {driver: epbx, epbx: {base_url: http://x, agents: {jose: {username: j, logon: Ip, target: t}}}}", "switch.epbx.agents.jose.password"},
		{"switch: {driver: epbx, epbx: {base_url: http://x, agents: {jose: {username: j, password: p, logon: PA, target: t}}}}", "switch.epbx.agents.jose.logon"},
		{"switch: {driver: epbx, epbx: {base_url: http://x, agents: {jose: {username: j, password: p, logon: IdPa}}}}", "switch.epbx.agents.jose.target"},
		{"switch: {driver: epbx, epbx: {base_url: http://x, pauses: {L: 0}, agents: {jose: {username: j, password: p, logon: IdPa, target: '1'}}}}", "switch.epbx.pauses.L"},
	} {
		_, err := LoadConfig(writeConfig(t, tc.body))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %s", tc.body, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), ": p,") {
			t.Errorf("the error shows a password: %v", err)
		}
	}
}
