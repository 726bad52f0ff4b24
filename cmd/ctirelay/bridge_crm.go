package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ctirelay/ctirelay/bridges/crm"
	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/httpdial"
	"github.com/ctirelay/ctirelay/store"
)

// CRMBridgeConfig is bridges.crm: the relay as the CTI of URL-driven CRMs
// (Senior CRM X, Divalto) and the receiver of click-to-dial platforms'
// call reports. Its routes are plain handlers meant for the HTTP bridge's
// mux; until that bridge mounts them they are served by a listener of
// their own (Listen), to be merged into bridges.http.
type CRMBridgeConfig struct {
	Listen       string `yaml:"listen"` // "" disables the bridge
	MaxBodyBytes int64  `yaml:"max_body_bytes"`
	// PlatformReports serves /v1/platform/httpdial/call when the switch is
	// httpdial.
	PlatformReports bool            `yaml:"platform_reports"`
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
	// answer and end, with Vars' names.
	NotifyURL       string            `yaml:"notify_url"`
	NotifyMethod    string            `yaml:"notify_method"` // GET (default) or POST
	NotifyHeaders   map[string]string `yaml:"notify_headers"`
	Vars            HTTPDialVars      `yaml:"vars"`
	CustomerCodeVar string            `yaml:"customer_code_var"`
	CustomerNameVar string            `yaml:"customer_name_var"`
}

// DivaltoConfig is Divalto's DhDivaltoServerCTI service.
type DivaltoConfig struct {
	Enabled  bool              `yaml:"enabled"`
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
	Lookup          struct {
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
	if c.Listen == "" {
		return
	}
	if _, port, err := net.SplitHostPort(c.Listen); err != nil || port == "" {
		bad("bridges.crm.listen", "must be host:port, e.g. 127.0.0.1:8490, or \"\" to disable the bridge, not %q", c.Listen)
	}
	if c.MaxBodyBytes < 0 {
		bad("bridges.crm.max_body_bytes", "must not be negative")
	}
	s := c.Senior
	if s.Path != "" && !strings.HasPrefix(s.Path, "/") {
		bad("bridges.crm.senior.path", "must start with /, not %q", s.Path)
	}
	if s.NotifyURL != "" && !strings.HasPrefix(s.NotifyURL, "http://") && !strings.HasPrefix(s.NotifyURL, "https://") {
		bad("bridges.crm.senior.notify_url", "must be an http:// or https:// URL")
	}
	if m := strings.ToUpper(s.NotifyMethod); m != "" && m != "GET" && m != "POST" {
		bad("bridges.crm.senior.notify_method", "must be GET or POST, not %q", s.NotifyMethod)
	}
	if (s.ClickToDial || s.NotifyURL != "") && len(s.Agents) == 0 {
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
	var lookup crm.Lookup
	if c.ScreenPop.Lookup.Query != "" {
		lookup = crm.LookupFunc(nil)
	}
	eachErr(c.ScreenPop.rules(lookup).Check("bridges.crm.screen_pop."), bad)
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

// crmBridge serves bridges.crm on its own listener.
type crmBridge struct {
	quiesced atomic.Bool
	srv      *http.Server
	ln       net.Listener
	subs     []interface{ Stop() }
	life     relay.StartStop
	log      *slog.Logger
	starters []interface{ Start(context.Context) error }
}

func newCRMBridge(cfg Config, db database, feed *relay.Feed, driver relay.Driver, clock relay.Clock, log *slog.Logger) (*crmBridge, error) {
	c := cfg.Bridges.CRM
	log = log.With("bridge", "crm")
	journal := crm.LogJournal{Logger: log}
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
	mux := http.NewServeMux()
	b := &crmBridge{log: log}
	if c.PlatformReports {
		d, ok := driver.(*httpdial.Driver)
		if !ok {
			return nil, errors.New("bridges.crm.platform_reports: needs switch.driver httpdial")
		}
		mux.Handle(crm.PlatformRoute, &crm.PlatformHandler{Platforms: map[string]crm.Platform{"httpdial": d}, Journal: journal, MaxBodyBytes: c.MaxBodyBytes})
	}
	s := c.Senior
	if s.ClickToDial {
		h := &crm.ClickToDial{Feed: feed, OriginVar: s.OriginVar, DestinationVar: s.DestinationVar, Auth: httpdial.AuthMode(s.Auth),
			Global: httpdial.Credentials{User: s.User, Password: s.Password, Token: s.Token}, Agents: s.agents(),
			Wait: time.Duration(s.Wait), MaxBodyBytes: c.MaxBodyBytes, Journal: journal}
		if err := h.Check("bridges.crm.senior."); err != nil {
			return nil, err
		}
		mux.Handle(orDefault(s.Path, crm.DefaultClickToDialPath), h)
	}
	if s.NotifyURL != "" {
		n := &crm.SeniorNotifier{Feed: feed, Name: "senior", URL: s.NotifyURL, Method: s.NotifyMethod, Headers: s.NotifyHeaders,
			Vars: s.Vars.vars(), Agents: s.extensions(), CustomerCodeVar: s.CustomerCodeVar, CustomerNameVar: s.CustomerNameVar,
			Rules: rules, Clock: clock, Logger: log, Journal: journal}
		b.starters = append(b.starters, n)
		b.subs = append(b.subs, n)
	}
	if dc := c.Divalto; dc.Enabled {
		d := &crm.Divalto{Feed: feed, Prefix: dc.Prefix, Agents: dc.Agents, PopOn: dc.PopOn, Rules: rules, Format: dc.format(),
			Clock: clock, Logger: log, Journal: journal, MaxBodyBytes: c.MaxBodyBytes}
		if dc.SetEvent {
			d.Publisher = db
		}
		if err := d.Check("bridges.crm.divalto."); err != nil {
			return nil, err
		}
		h := d.Handler()
		for _, p := range d.Routes() {
			mux.Handle(p, h)
		}
		b.starters = append(b.starters, d)
		b.subs = append(b.subs, d)
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b.quiesced.Load() {
			w.Header().Set("Connection", "close")
			w.Header().Set("Retry-After", "1")
			http.Error(w, "ctirelay is stopping", http.StatusServiceUnavailable)
			return
		}
		mux.ServeHTTP(w, r)
	})
	b.srv = &http.Server{Addr: c.Listen, Handler: handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	return b, nil
}

// Start listens and starts the feed subscribers; Stop is safe twice.
func (b *crmBridge) Start(ctx context.Context) error { return b.life.Start(ctx, b.start) }

func (b *crmBridge) start(ctx context.Context) (func(), error) {
	ln, err := net.Listen("tcp", b.srv.Addr)
	if err != nil {
		return nil, err
	}
	for i, s := range b.starters {
		if err := s.Start(ctx); err != nil {
			for _, started := range b.subs[:i] {
				started.Stop()
			}
			ln.Close()
			return nil, err
		}
	}
	b.ln = ln
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := b.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			b.log.Error("crm bridge: serve", "err", err)
		}
	}()
	b.log.Info("crm bridge listening", "addr", ln.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = b.srv.Shutdown(ctx)
		<-done
		for _, s := range b.subs {
			s.Stop()
		}
	}, nil
}

// Quiesce refuses new requests (dials among them) before the engine stops;
// the dials already queued still get their outcome.
func (b *crmBridge) Quiesce() {
	b.quiesced.Store(true)
	b.srv.SetKeepAlivesEnabled(false)
}

// Stop closes the listener and the subscribers.
func (b *crmBridge) Stop() { b.life.Stop() }

// Addr is where it listens (after Start).
func (b *crmBridge) Addr() string {
	if b.ln == nil {
		return ""
	}
	return b.ln.Addr().String()
}
