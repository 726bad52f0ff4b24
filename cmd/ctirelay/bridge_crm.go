package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ctirelay/ctirelay/bridges/crm"
	httpbridge "github.com/ctirelay/ctirelay/bridges/http"
	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/httpdial"
	"github.com/ctirelay/ctirelay/store"
)

// CRMBridgeConfig is bridges.crm: the relay as the CTI of URL-driven CRMs
// (Senior CRM X, Divalto) and the receiver of click-to-dial platforms'
// call reports. Its routes are mounted on the HTTP bridge (bridges.http):
// its listener, TLS, limits and tokens; Senior's call notifications are
// one of its webhooks.
type CRMBridgeConfig struct {
	// Listen is refused: the routes moved to bridges.http.listen.
	Listen       string `yaml:"listen"`
	MaxBodyBytes int64  `yaml:"max_body_bytes"`
	// PlatformReports serves /v1/platform/httpdial/call when the switch is
	// httpdial; PlatformToken, when set, is accepted from the platform
	// (token= in the URL or the token_auth header) beside the HTTP bridge's
	// bearer tokens.
	PlatformReports bool            `yaml:"platform_reports"`
	PlatformToken   string          `yaml:"platform_token"`
	Senior          SeniorConfig    `yaml:"senior"`
	Divalto         DivaltoConfig   `yaml:"divalto"`
	ScreenPop       ScreenPopConfig `yaml:"screen_pop"`
}

// SeniorConfig is Senior CRM X: its click-to-dial URL pointing at the
// relay, and the call notifications sent to it.
type SeniorConfig struct {
	ClickToDial bool   `yaml:"clicktodial"` // serve Path
	Path        string `yaml:"path"`        // cti_caminho (/api/clicktodial)
	// OriginVar and DestinationVar are cti_nome_origem and cti_nome_destino.
	OriginVar      string                   `yaml:"origin_var"`
	DestinationVar string                   `yaml:"destination_var"`
	Auth           int                      `yaml:"auth"` // cti_autenticacao: 0 none, 1 basic, 2 token_auth header, 3 token in the URL, 4 basic + header
	User           string                   `yaml:"user"`
	Password       string                   `yaml:"password"`
	Token          string                   `yaml:"token"`
	Wait           Duration                 `yaml:"wait"` // how long the route waits for the dial's outcome (10s); then 202
	Agents         map[string]HTTPDialAgent `yaml:"agents"`

	// NotifyURL, when set, receives each call of the agents: ringing,
	// answer and end, with Vars' names. It is the HTTP bridge's webhook
	// named SeniorWebhook.
	NotifyURL           string            `yaml:"notify_url"`
	NotifyTimeout       Duration          `yaml:"notify_timeout"`        // one request (15s)
	NotifyFailureWindow Duration          `yaml:"notify_failure_window"` // failing this long disables it (24h)
	NotifyMethod        string            `yaml:"notify_method"`         // GET (default) or POST
	NotifyHeaders       map[string]string `yaml:"notify_headers"`
	Vars                HTTPDialVars      `yaml:"vars"`
	CustomerCodeVar     string            `yaml:"customer_code_var"`
	CustomerNameVar     string            `yaml:"customer_name_var"`
}

// DivaltoConfig is Divalto's DhDivaltoServerCTI service.
type DivaltoConfig struct {
	Enabled bool `yaml:"enabled"`
	// Token, when set, is accepted in the URL (token=) or the token_auth
	// header beside the HTTP bridge's bearer tokens (Divalto's <headers>
	// can send "Authorization: Bearer …").
	Token    string            `yaml:"token"`
	Prefix   string            `yaml:"prefix"`   // /DhDivaltoServerCTI
	PopOn    string            `yaml:"pop_on"`   // application | ring | answer | cti
	SetEvent bool              `yaml:"setevent"` // accept setevent pushes
	Agents   map[string]string `yaml:"agents"`   // login: extension (telorg)

	TypeReturn             string `yaml:"type_return"` // json | xml
	JSONTel                string `yaml:"json_tel"`
	JSONEvent              string `yaml:"json_event"`
	CustomerCode           string `yaml:"customer_code"`
	CustomerName           string `yaml:"customer_name"`
	XMLRoot                string `yaml:"xml_root"`
	XMLTel                 string `yaml:"xml_tel"`
	XMLEvent               string `yaml:"xml_event"`
	XMLResultTelInAttrib   bool   `yaml:"xml_result_tel_in_attrib"`
	XMLTelAttrib           string `yaml:"xml_tel_attrib"`
	XMLResultEventInAttrib bool   `yaml:"xml_result_event_in_attrib"`
	XMLEventAttrib         string `yaml:"xml_event_attrib"`
}

// ScreenPopConfig is the screen-pop rules of every pop consumer.
type ScreenPopConfig struct {
	Exceptions      []string            `yaml:"exceptions"`
	AgentExceptions map[string][]string `yaml:"agent_exceptions"`
	MinLength       int                 `yaml:"min_length"`
	SkipWhenBusy    bool                `yaml:"skip_when_busy"`
	SuppressNoMatch bool                `yaml:"suppress_no_match"`
	// Agents map logins to extensions whose incoming calls are decided and
	// journaled as pop notes beside Divalto's and Senior's agents (with
	// neither configured, the only ones).
	Agents map[string]string `yaml:"agents"`
	Lookup struct {
		Query   string   `yaml:"query"` // one parameter, the caller's digits: SELECT code, name FROM … WHERE tel = $1
		Timeout Duration `yaml:"timeout"`
	} `yaml:"lookup"`
}

// rules builds the rules; lookup is nil when no query is configured.
func (s ScreenPopConfig) rules(lookup crm.Lookup) crm.Rules {
	return crm.Rules{Exceptions: s.Exceptions, AgentExceptions: s.AgentExceptions, MinLength: s.MinLength,
		SkipWhenBusy: s.SkipWhenBusy, SuppressNoMatch: s.SuppressNoMatch, Lookup: lookup, LookupTimeout: time.Duration(s.Lookup.Timeout)}
}

func (c SeniorConfig) agents() map[string]crm.SeniorAgent {
	out := map[string]crm.SeniorAgent{}
	for l, a := range c.Agents {
		out[l] = crm.SeniorAgent{Extension: a.Extension, Credentials: httpdial.Credentials{User: a.User, Password: a.Password, Token: a.Token}}
	}
	return out
}

func (c SeniorConfig) extensions() map[string]string {
	out := map[string]string{}
	for l, a := range c.Agents {
		out[l] = a.Extension
	}
	return out
}

func (c DivaltoConfig) format() crm.DivaltoFormat {
	return crm.DivaltoFormat{Type: c.TypeReturn, JSONTel: c.JSONTel, JSONEvent: c.JSONEvent, CustomerCode: c.CustomerCode, CustomerName: c.CustomerName,
		XMLRoot: c.XMLRoot, XMLTel: c.XMLTel, XMLEvent: c.XMLEvent, XMLTelInAttrib: c.XMLResultTelInAttrib, XMLTelAttrib: c.XMLTelAttrib,
		XMLEventInAttrib: c.XMLResultEventInAttrib, XMLEventAttrib: c.XMLEventAttrib}
}

// validate checks bridges.crm, naming the key at fault.
func (c CRMBridgeConfig) validate(bad func(key, format string, a ...any)) {
	if c.Listen != "" {
		bad("bridges.crm.listen", "removed: the crm routes are served on the HTTP bridge's listener (bridges.http.listen, its tls_cert and tokens)")
	}
	if c.MaxBodyBytes < 0 {
		bad("bridges.crm.max_body_bytes", "must not be negative")
	}
	s := c.Senior
	if s.Path != "" && !strings.HasPrefix(s.Path, "/") {
		bad("bridges.crm.senior.path", "must start with /, not %q", s.Path)
	}
	for key, p := range map[string]string{"bridges.crm.senior.path": s.Path, "bridges.crm.divalto.prefix": c.Divalto.Prefix} {
		if bridgeOwned(p) {
			bad(key, "%q is under the HTTP bridge's own routes (/v1/, /ui/, /metrics, /healthz, /readyz)", p)
		}
	}
	if s.NotifyURL != "" && !strings.HasPrefix(s.NotifyURL, "http://") && !strings.HasPrefix(s.NotifyURL, "https://") {
		bad("bridges.crm.senior.notify_url", "must be an http:// or https:// URL")
	}
	if s.ClickToDial && len(s.Agents) == 0 {
		bad("bridges.crm.senior.agents", "must map at least one login to its extension")
	}
	if m := strings.ToUpper(s.NotifyMethod); m != "" && m != "GET" && m != "POST" {
		bad("bridges.crm.senior.notify_method", "must be GET or POST, not %q", s.NotifyMethod)
	}
	if s.NotifyURL != "" && len(s.Agents) == 0 {
		bad("bridges.crm.senior.agents", "must map at least one login to its extension")
	}
	if _, err := s.Vars.vars().WithDefaults(); err != nil {
		bad("bridges.crm.senior.vars", "%v", err)
	}
	if s.ClickToDial {
		h := &crm.ClickToDial{OriginVar: s.OriginVar, DestinationVar: s.DestinationVar, Auth: httpdial.AuthMode(s.Auth),
			Global: httpdial.Credentials{User: s.User, Password: s.Password, Token: s.Token}, Agents: s.agents()}
		eachErr(h.Check("bridges.crm.senior."), bad)
	}
	if c.Divalto.Enabled {
		if len(c.Divalto.Agents) == 0 {
			bad("bridges.crm.divalto.agents", "must map at least one login to its extension (telorg)")
		}
		d := &crm.Divalto{Prefix: c.Divalto.Prefix, PopOn: c.Divalto.PopOn, Agents: c.Divalto.Agents, Format: c.Divalto.format()}
		eachErr(d.Check("bridges.crm.divalto."), bad)
	}
	for login, ext := range c.ScreenPop.Agents {
		if strings.TrimSpace(ext) == "" {
			bad("bridges.crm.screen_pop.agents."+login, "empty extension")
		}
	}
	var lookup crm.Lookup
	if c.ScreenPop.Lookup.Query != "" {
		lookup = crm.LookupFunc(nil)
	}
	eachErr(c.ScreenPop.rules(lookup).Check("bridges.crm.screen_pop."), bad)
}

// bridgeOwned reports whether path is in the HTTP bridge's own namespace.
func bridgeOwned(path string) bool {
	for _, own := range []string{"/v1/", "/ui/", "/metrics", "/healthz", "/readyz"} {
		if path == strings.TrimSuffix(own, "/") || strings.HasPrefix(path, own) {
			return true
		}
	}
	return false
}

// eachErr reports each joined error of a Check, whose text begins with its key.
func eachErr(err error, bad func(key, format string, a ...any)) {
	if err == nil {
		return
	}
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		key, msg, _ := strings.Cut(e.Error(), ": ")
		bad(key, "%s", msg)
	}
}

// SeniorWebhook names Senior's call notifications among the HTTP bridge's
// webhooks: `ctirelay webhooks enable senior`, /v1/webhooks, the metrics.
const SeniorWebhook = "senior"

// enabled reports whether any crm route, the notifications or the pop
// notes are on.
func (c CRMBridgeConfig) enabled() bool { return c.routed() || len(c.ScreenPop.Agents) > 0 }

// routed reports whether any crm route or the notifications are on.
func (c CRMBridgeConfig) routed() bool {
	return c.PlatformReports || c.Senior.ClickToDial || c.Senior.NotifyURL != "" || c.Divalto.Enabled
}

// popAgents are the logins whose incoming calls get a pop decision (and a
// note): screen_pop's, Divalto's and Senior's, by extension.
func (c CRMBridgeConfig) popAgents() map[string]string {
	out := map[string]string{}
	if c.Senior.ClickToDial || c.Senior.NotifyURL != "" {
		maps.Copy(out, c.Senior.extensions())
	}
	if c.Divalto.Enabled {
		maps.Copy(out, c.Divalto.Agents)
	}
	maps.Copy(out, c.ScreenPop.Agents)
	return out
}

func (s SeniorConfig) reports(rules crm.Rules, journal crm.Journal) *crm.SeniorReports {
	return &crm.SeniorReports{Method: s.NotifyMethod, Vars: s.Vars.vars(), Headers: s.NotifyHeaders, Agents: s.extensions(),
		CustomerCodeVar: s.CustomerCodeVar, CustomerNameVar: s.CustomerNameVar, Rules: rules, Journal: journal}
}

// webhooks are every webhook endpoint of the HTTP bridge: bridges.http's
// and Senior's notifications.
func (c Config) webhooks() []WebhookConfig {
	out := c.Bridges.HTTP.Webhooks
	if u := c.Bridges.CRM.Senior.NotifyURL; u != "" {
		out = append(out[:len(out):len(out)], WebhookConfig{Name: SeniorWebhook, URL: u})
	}
	return out
}

// crmRoutes are bridges.crm's handlers and webhook for the HTTP bridge,
// and Divalto's feed subscriber, which `run` starts before that bridge
// and stops after it.
type crmRoutes struct {
	quiesced atomic.Bool
	mounts   []httpbridge.Mount
	hooks    []httpbridge.WebhookConfig
	guards   []*crm.Guard // given the HTTP bridge once it is built
	subs     []interface {
		Start(context.Context) error
		Stop()
	}
	life relay.StartStop
}

// newCRMRoutes builds bridges.crm; nil when none of it is configured.
func newCRMRoutes(cfg Config, db database, feed *relay.Feed, driver relay.Driver, clock relay.Clock, log *slog.Logger) (*crmRoutes, error) {
	c := cfg.Bridges.CRM
	if !c.enabled() {
		return nil, nil
	}
	if cfg.Bridges.HTTP.Listen == "" && c.routed() {
		return nil, errors.New("bridges.crm: its routes are served by the HTTP bridge: set bridges.http.listen (or drop --http-listen \"\")")
	}
	log = log.With("bridge", "crm")
	journal := func(origin string) crm.Journal {
		return crm.Notes{Notebook: db, Origin: origin, Clock: clock, Logger: log}
	}
	var lookup crm.Lookup
	if q := c.ScreenPop.Lookup.Query; q != "" {
		sqlDB, ok := store.SQLDB(db)
		if !ok {
			return nil, errors.New("bridges.crm.screen_pop.lookup.query: this database has no SQL connection to run it on")
		}
		cq, err := store.NewCustomerQuery(sqlDB, q)
		if err != nil {
			return nil, fmt.Errorf("bridges.crm.screen_pop.lookup.query: %w", err)
		}
		lookup = crm.LookupFunc(func(ctx context.Context, n string) (crm.Customer, bool, error) {
			code, name, found, err := cq.Lookup(ctx, n)
			return crm.Customer{Code: code, Name: name}, found, err
		})
	}
	rules := c.ScreenPop.rules(lookup)
	// Senior's notifications, Divalto and the pop notes decide each call
	// once: one lookup, one note.
	rules.Shared = &crm.Decisions{Journal: journal("crm:screen-pop")}
	b := &crmRoutes{}
	if agents := c.popAgents(); len(agents) > 0 {
		b.subs = append(b.subs, &crm.Pops{Feed: feed, Agents: agents, Rules: rules, Logger: log.With("component", "screen-pop")})
	}
	mount := func(pattern, summary string, h http.Handler) {
		b.mounts = append(b.mounts, httpbridge.Mount{Pattern: pattern, Summary: summary, Handler: h})
	}
	if c.PlatformReports {
		d, ok := driver.(*httpdial.Driver)
		if !ok {
			return nil, errors.New("bridges.crm.platform_reports: needs switch.driver httpdial")
		}
		h := &crm.PlatformHandler{Platforms: map[string]crm.Platform{"httpdial": d}, Journal: journal("crm:platform"), MaxBodyBytes: c.MaxBodyBytes,
			Guard: crm.Guard{Token: c.PlatformToken}}
		b.guards = append(b.guards, &h.Guard)
		mount(crm.PlatformRoute, "a click-to-dial platform's call report (GET or POST; bearer token or its own token)", h)
	}
	s := c.Senior
	// The HTTP bridge closes a response wait_max + 30 s after the request.
	if waitMax := cmp.Or(time.Duration(cfg.Bridges.HTTP.WaitMax), httpbridge.DefaultWaitMax); time.Duration(s.Wait) > waitMax {
		return nil, fmt.Errorf("bridges.crm.senior.wait: %s is over bridges.http.wait_max (%s)", time.Duration(s.Wait), waitMax)
	}
	if s.ClickToDial {
		h := &crm.ClickToDial{Feed: feed, OriginVar: s.OriginVar, DestinationVar: s.DestinationVar, Auth: httpdial.AuthMode(s.Auth),
			Global: httpdial.Credentials{User: s.User, Password: s.Password, Token: s.Token}, Agents: s.agents(),
			Wait: time.Duration(s.Wait), MaxBodyBytes: c.MaxBodyBytes, Journal: journal("crm:clicktodial")}
		if err := h.Check("bridges.crm.senior."); err != nil {
			return nil, err
		}
		b.guards = append(b.guards, &h.Guard)
		mount(orDefault(s.Path, crm.DefaultClickToDialPath), "Senior CRM X's click-to-dial (GET or POST; cti_autenticacao 1-4, or a bearer token with 0)",
			http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if b.quiesced.Load() {
					w.Header().Set("Connection", "close")
					w.Header().Set("Retry-After", "1")
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusServiceUnavailable)
					_, _ = w.Write([]byte(`{"error":"unavailable","message":"ctirelay is stopping"}` + "\n"))
					return
				}
				h.ServeHTTP(w, r)
			}))
	}
	if s.NotifyURL != "" {
		rep := s.reports(rules, journal("crm:senior"))
		if err := rep.Check("bridges.crm.senior."); err != nil {
			return nil, err
		}
		wc := rep.Webhook(SeniorWebhook, s.NotifyURL)
		wc.Timeout, wc.FailureWindow = time.Duration(s.NotifyTimeout), time.Duration(s.NotifyFailureWindow)
		b.hooks = append(b.hooks, wc)
	}
	if dc := c.Divalto; dc.Enabled {
		d := &crm.Divalto{Feed: feed, Prefix: dc.Prefix, Agents: dc.Agents, PopOn: dc.PopOn, Rules: rules, Format: dc.format(),
			Clock: clock, Logger: log, Journal: journal("crm:divalto"), MaxBodyBytes: c.MaxBodyBytes, Guard: crm.Guard{Token: dc.Token}}
		if dc.SetEvent {
			d.Publisher = db
		}
		if err := d.Check("bridges.crm.divalto."); err != nil {
			return nil, err
		}
		b.guards = append(b.guards, &d.Guard)
		h := d.Handler()
		for _, p := range d.Routes() {
			mount(p, "Divalto's DhDivaltoServerCTI (bearer token or its own token)", h)
		}
		b.subs = append(b.subs, d)
	}
	return b, nil
}

// Mounts and Webhooks are what the HTTP bridge serves for bridges.crm.
func (b *crmRoutes) Mounts() []httpbridge.Mount {
	if b == nil {
		return nil
	}
	return b.mounts
}

func (b *crmRoutes) Webhooks() []httpbridge.WebhookConfig {
	if b == nil {
		return nil
	}
	return b.hooks
}

// Attach gives the routes that authenticate themselves the HTTP bridge's
// tokens. Before it the routes are not served.
func (b *crmRoutes) Attach(hb *httpbridge.Bridge) {
	for _, g := range b.guards {
		g.Bridge = hb
	}
}

// Start starts the feed subscribers; Stop is safe twice.
func (b *crmRoutes) Start(ctx context.Context) error { return b.life.Start(ctx, b.start) }

func (b *crmRoutes) start(ctx context.Context) (func(), error) {
	for i, s := range b.subs {
		if err := s.Start(ctx); err != nil {
			for _, started := range b.subs[:i] {
				started.Stop()
			}
			return nil, fmt.Errorf("bridges.crm: %w", err)
		}
	}
	return func() {
		for _, s := range b.subs {
			s.Stop()
		}
	}, nil
}

// Quiesce refuses new dials before the engine stops; the dials already
// queued still get their outcome.
func (b *crmRoutes) Quiesce() { b.quiesced.Store(true) }

// Stop stops the subscribers.
func (b *crmRoutes) Stop() { b.life.Stop() }
