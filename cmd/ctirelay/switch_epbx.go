package main

import (
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/epbx"
	"github.com/ctirelay/ctirelay/relay/epbx/signalr"
)

// EPBXConfig points the epbx driver at a Talk Telecom EPBX (docs/epbx.md).
type EPBXConfig struct {
	BaseURL  string `yaml:"base_url"`  // http(s)://host: /oauth2/Token and /signalr
	ClientID string `yaml:"client_id"` // the OAuth client_id EPBX issued
	Hub      string `yaml:"hub"`       // AtendimentoHub by default
	// TokenIn is where the bearer token goes on SignalR requests: header,
	// query or both (default).
	TokenIn string `yaml:"token_in"`
	// Agents: relay login → EPBX user and logon target.
	Agents map[string]EPBXAgent `yaml:"agents"`
	// Pauses maps P ON codes to EPBX interval ids (RamalStatusDetalheId).
	Pauses map[string]int `yaml:"pauses"`
	// Available is the interval P OFF sets (0: the first productive one).
	Available int `yaml:"available"`
	// RecordingToken puts the access token in G addresses (off: see docs).
	RecordingToken  bool     `yaml:"recording_token"`
	ReplyTimeout    Duration `yaml:"reply_timeout"`
	DialConfirm     Duration `yaml:"dial_confirm"`
	ExtensionDigits int      `yaml:"extension_digits"`
}

// EPBXAgent is one agent's EPBX user and where it logs on.
type EPBXAgent struct {
	Username  string `yaml:"username"`
	Password  string `yaml:"password"` // use ${ENV}: never written in the file
	Logon     string `yaml:"logon"`    // IdPa | Ip | RamalVirtual
	Target    string `yaml:"target"`   // the PA id, IP address or virtual extension
	Extension string `yaml:"extension"`
}

// validateEPBX checks switch.epbx, naming the key at fault.
func validateEPBX(c EPBXConfig, bad func(key, format string, a ...any)) {
	if u, err := url.Parse(c.BaseURL); c.BaseURL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("switch.epbx.base_url", "required with driver epbx: http(s)://host of the EPBX server")
	}
	switch signalr.TokenPlace(c.TokenIn) {
	case "", signalr.TokenHeader, signalr.TokenQuery, signalr.TokenBoth:
	default:
		bad("switch.epbx.token_in", "must be header, query or both, not %q", c.TokenIn)
	}
	if len(c.Agents) == 0 {
		bad("switch.epbx.agents", "required with driver epbx: each agent login's username, password, logon and target")
	}
	for _, login := range sortedKeys(c.Agents) {
		a, key := c.Agents[login], "switch.epbx.agents."+login
		if strings.ContainsAny(login, "<>$") {
			bad(key, "an agent login cannot contain '<', '>' or '$'")
		}
		if a.Username == "" {
			bad(key+".username", "required")
		}
		if a.Password == "" {
			bad(key+".password", "required (use ${ENV_VAR})")
		}
		if _, err := epbx.ParseLogonType(a.Logon); err != nil {
			bad(key+".logon", "%v", err)
		}
		if a.Target == "" {
			bad(key+".target", "required: the PA id, IP address or virtual extension Iniciar logs on to")
		}
	}
	for code, id := range c.Pauses {
		if id <= 0 {
			bad("switch.epbx.pauses."+code, "must be a positive interval id")
		}
	}
	if c.ReplyTimeout < 0 || c.DialConfirm < 0 {
		bad("switch.epbx", "timeouts must not be negative")
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// newEPBXDriver builds the epbx driver from a validated config.
func newEPBXDriver(c EPBXConfig, st relay.Store, clock relay.Clock, log *slog.Logger) (relay.Driver, error) {
	agents := make(map[string]epbx.Agent, len(c.Agents))
	for login, a := range c.Agents {
		lt, err := epbx.ParseLogonType(a.Logon)
		if err != nil {
			return nil, fmt.Errorf("switch.epbx.agents.%s.logon: %w", login, err)
		}
		agents[login] = epbx.Agent{Username: a.Username, Password: a.Password, Logon: lt, Target: a.Target, Extension: a.Extension}
	}
	ec := epbx.Config{
		BaseURL: c.BaseURL, ClientID: c.ClientID, Hub: c.Hub, TokenIn: signalr.TokenPlace(c.TokenIn),
		Agents: agents, Pauses: c.Pauses, Available: c.Available, RecordingToken: c.RecordingToken,
		ReplyTimeout: time.Duration(c.ReplyTimeout), Confirm: time.Duration(c.DialConfirm), ExtensionDigits: c.ExtensionDigits,
		// The engine runs it under the switch:epbx lock (activeGate).
		Gated: true, Clock: clock, Logger: log,
	}
	if st != nil { // a nil relay.Store must not become a non-nil StateStore
		ec.State, ec.Notes = st, st
	}
	d, err := epbx.New(ec)
	if err != nil {
		return nil, fmt.Errorf("switch.epbx: %w", err)
	}
	return d, nil
}
