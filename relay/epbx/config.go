package epbx

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/epbx/signalr"
)

// LogonType is Iniciar's tipoLogon: what the logon target names.
type LogonType int

// Logon types, as the EPBX adapter numbers them.
const (
	LogonIdPa         LogonType = 1 // a PA (position) id
	LogonIP           LogonType = 2 // the softphone's IP address
	LogonRamalVirtual LogonType = 3 // a virtual extension
)

// ParseLogonType reads IdPa, Ip or RamalVirtual (any case) or 1, 2, 3.
func ParseLogonType(s string) (LogonType, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "idpa", "1":
		return LogonIdPa, nil
	case "ip", "2":
		return LogonIP, nil
	case "ramalvirtual", "3":
		return LogonRamalVirtual, nil
	}
	return 0, fmt.Errorf("logon type %q: want IdPa, Ip or RamalVirtual", s)
}

// Agent is one relay login's EPBX user and logon target.
type Agent struct {
	Username string
	Password string
	// Logon and Target are Iniciar's arguments: the target is a PA id, an
	// IP address or a virtual extension, as Logon says.
	Logon  LogonType
	Target string
	// Extension is the agent's extension, written as the origin of its A
	// events (the hub's RamalInfo wins when it names one).
	Extension string
}

// Defaults for the zero values of Config.
const (
	DefaultHub          = "AtendimentoHub"
	DefaultReplyTimeout = 10 * time.Second
	DefaultConfirm      = 3 * time.Second
	DefaultExtDigits    = 4
)

// Config configures the driver.
type Config struct {
	// BaseURL is the EPBX server, e.g. https://pbx.example; the token
	// endpoint is BaseURL/oauth2/Token and SignalR BaseURL/signalr.
	BaseURL  string
	ClientID string
	Hub      string // default AtendimentoHub
	// TokenIn says where the bearer token travels on SignalR requests
	// (header, query or both; default both).
	TokenIn signalr.TokenPlace
	// Agents maps relay logins (matched without regard to case) to users.
	Agents map[string]Agent
	// Pauses maps P ON codes to interval ids (RamalStatusDetalheId); codes
	// not here are looked up among the intervals the hub announced
	// (onInfoIntervaloRamal) by id or description.
	Pauses map[string]int
	// Available is the interval id P OFF sets; 0 takes the first productive
	// interval the hub announced.
	Available int
	// RecordingToken puts the agent's access token in the G event's
	// download address. Off by default: T_TTO and the journal are read by
	// many, and the token is the agent's credential while it lasts.
	RecordingToken bool
	// ReplyTimeout bounds the wait for a hub result or for onLogado.
	ReplyTimeout time.Duration
	// Confirm is how long a dial waits for onDisca or onDiscaErro after the
	// hub accepted Discar (then it is taken as dialling).
	Confirm time.Duration
	// ExtensionDigits: a number dialled with no area code and at most this
	// many digits is an extension (Discar tipo 2); default 4.
	ExtensionDigits int
	// Gated: the engine runs the driver under an active gate
	// (relay.EngineConfig.Active, the switch:epbx lock), so it stands by
	// from Open until the engine's first SetActive(true).
	Gated bool
	// State, when set, keeps each agent's logon and pause where the relay
	// that takes over (SetActive(true)) reads them, and logs those agents
	// on again with their pause; nil: an agent the relay did not log on
	// itself is logged on again at its next command.
	State StateStore
	// Notes, when set, journals each agent the driver logged on again by
	// itself (after a takeover, a restart or a hub that forgot it), so a
	// DBA finds it next to the agent's messages.
	Notes      relay.Notebook
	HTTPClient *http.Client
	Clock      relay.Clock
	Logger     *slog.Logger
}

func (c Config) withDefaults() (Config, error) {
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, fmt.Errorf("epbx config: base url %q: want http(s)://host", c.BaseURL)
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.Hub == "" {
		c.Hub = DefaultHub
	}
	if len(c.Agents) == 0 {
		return c, errors.New("epbx config: no agents")
	}
	agents := make(map[string]Agent, len(c.Agents))
	for login, a := range c.Agents {
		if a.Username == "" {
			return c, fmt.Errorf("epbx config: agent %s: no username", login)
		}
		if a.Logon == 0 {
			return c, fmt.Errorf("epbx config: agent %s: no logon type", login)
		}
		if a.Target == "" {
			return c, fmt.Errorf("epbx config: agent %s: no logon target", login)
		}
		agents[strings.ToLower(login)] = a
	}
	c.Agents = agents
	if c.ReplyTimeout <= 0 {
		c.ReplyTimeout = DefaultReplyTimeout
	}
	if c.Confirm <= 0 {
		c.Confirm = DefaultConfirm
	}
	if c.ExtensionDigits <= 0 {
		c.ExtensionDigits = DefaultExtDigits
	}
	if c.HTTPClient == nil {
		// One client for every agent: the token renewals and SignalR
		// handshakes of hundreds of agents reuse kept-alive connections
		// (the default transport keeps 2 per host, so most renewals would
		// dial, and over TLS handshake, anew).
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = min(max(len(agents)/8, 2), 64)
		c.HTTPClient = &http.Client{Transport: t}
	}
	if c.Clock == nil {
		c.Clock = relay.SystemClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// LockName is the relay.Locker lock the relays sharing one EPBX take: only
// its holder runs commands and holds agent connections, since each agent's
// events come on the connection that runs its commands.
const LockName = "switch:epbx"
