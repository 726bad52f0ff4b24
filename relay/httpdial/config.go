package httpdial

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// DocumentTemplate is the document's "Formato da URL"; the dial uses it
// unless Templates says otherwise.
const DocumentTemplate = "$protocolo://$ip:$porta/$caminho?$nomeOrigem=$ramal&$nomeDestino=$phone$tokenUrl"

// AuthMode is the document's cti_autenticacao.
type AuthMode int

// The four modes of the document, and none (a platform on a trusted network).
const (
	AuthNone        AuthMode = 0
	AuthBasic       AuthMode = 1 // CURLOPT_USERPWD $agente:$senha
	AuthHeader      AuthMode = 2 // token_auth: $token in the request's headers
	AuthURLToken    AuthMode = 3 // token=$token appended to the URL
	AuthBasicHeader AuthMode = 4 // 1 and 2 together
)

// TokenHeader is the header of modes 2 and 4, spelt as in the document.
const TokenHeader = "token_auth"

func (m AuthMode) basic() bool  { return m == AuthBasic || m == AuthBasicHeader }
func (m AuthMode) header() bool { return m == AuthHeader || m == AuthBasicHeader }

// Defaults for the zero values of Config.
const (
	DefaultProtocol       = "https"
	DefaultOriginVar      = "origem"
	DefaultDestinationVar = "destino"
	DefaultMethod         = http.MethodGet
	DefaultConnectTimeout = 5 * time.Second
	DefaultRequestTimeout = 10 * time.Second
	DefaultMaxBodyBytes   = 4096
	DefaultMaxMessage     = 200
	DefaultInternalMaxLen = 4
)

// Credentials authenticate requests: agent:password for basic modes, token
// for the others. Never logged.
type Credentials struct {
	User     string // the document's $agente
	Password string // $senha
	Token    string // $token
}

// merge fills the empty fields of c from global.
func (c Credentials) merge(global Credentials) Credentials {
	if c.User == "" {
		c.User = global.User
	}
	if c.Password == "" {
		c.Password = global.Password
	}
	if c.Token == "" {
		c.Token = global.Token
	}
	return c
}

// Agent is what the platform knows of one relay login.
type Agent struct {
	Extension string // the document's $ramal
	// Credentials override the global ones field by field.
	Credentials Credentials
}

// DialRules turn a dial's DDD and number into the platform's destination.
type DialRules struct {
	// ZeroDDD is usa_zero_ddd: a 0 before numbers that are not internal.
	ZeroDDD bool
	// LinePrefix is numero_linha, used when usa_linha is set: dialled before
	// external numbers (and before the zero) to take an outside line.
	UseLine    bool
	LinePrefix string
	// A number is internal (an extension: no prefix, no zero) when it is
	// listed in Internal or has at most InternalMaxLen digits (-1: no
	// length makes a number internal; 0: DefaultInternalMaxLen).
	InternalMaxLen int
	Internal       []string
}

// Config configures the driver.
type Config struct {
	// The parts of the document's URL: cti_protocolo, cti_ip, cti_porta,
	// cti_caminho, cti_nome_origem, cti_nome_destino; Method is
	// metodo_chamada.
	Protocol       string // http or https (DefaultProtocol)
	Host           string
	Port           string // 80 or 443 by protocol when empty
	Path           string // without the leading slash: api/clicktodial
	OriginVar      string
	DestinationVar string
	Method         string

	Auth   AuthMode
	Global Credentials
	// Agents maps each relay login to its extension (ramal); a login not
	// listed cannot dial.
	Agents map[string]Agent

	Rules DialRules

	// Templates give a URL template per verb; A defaults to
	// DocumentTemplate, and a verb with no template is unsupported, except
	// S, which the driver answers itself (see Driver.Execute). Only verbs
	// answered by OK can have one: not S or AC.
	Templates map[relay.Verb]string

	// Vars are the names of the variables of the platform's call
	// notifications (see Notify).
	Vars Vars

	TLS            *tls.Config
	ConnectTimeout time.Duration // connecting, TLS included
	RequestTimeout time.Duration // the whole request, answer included
	MaxBodyBytes   int           // how much of an answer is read
	MaxMessage     int           // how much of it an ERR reply carries

	// Transport replaces the HTTP transport (tests); its timeouts are then
	// the caller's.
	Transport http.RoundTripper
	Logger    *slog.Logger
}

var (
	hostPattern = regexp.MustCompile(`^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)$`)
	varPattern  = regexp.MustCompile(`^[A-Za-z0-9_.\-\[\]]+$`)
)

// FieldError is one bad setting: Key is the field's configuration key
// (host, agents.jose.extension, urls.D …). New's error joins them.
type FieldError struct{ Key, Msg string }

func (e *FieldError) Error() string { return e.Key + ": " + e.Msg }

// FieldErrors lists the bad settings in an error from New.
func FieldErrors(err error) []*FieldError {
	if fe, ok := err.(*FieldError); ok {
		return []*FieldError{fe}
	}
	switch u := err.(type) {
	case interface{ Unwrap() []error }:
		var out []*FieldError
		for _, e := range u.Unwrap() {
			out = append(out, FieldErrors(e)...)
		}
		return out
	case interface{ Unwrap() error }:
		return FieldErrors(u.Unwrap())
	}
	return nil
}

// withDefaults validates c and fills in the defaults; errors name the field.
func (c Config) withDefaults() (Config, error) {
	var errs []error
	bad := func(key, format string, a ...any) {
		errs = append(errs, &FieldError{Key: key, Msg: fmt.Sprintf(format, a...)})
	}
	c.Protocol = strings.ToLower(strings.TrimSpace(c.Protocol))
	if c.Protocol == "" {
		c.Protocol = DefaultProtocol
	}
	if c.Protocol != "http" && c.Protocol != "https" {
		bad("protocol", "must be http or https, not %q", c.Protocol)
	}
	if c.Host = strings.TrimSpace(c.Host); !hostPattern.MatchString(c.Host) {
		bad("host", "%q is not a host name or address", c.Host)
	}
	if c.Port == "" {
		c.Port = map[string]string{"http": "80", "https": "443"}[c.Protocol]
	}
	if n, err := strconv.Atoi(c.Port); err != nil || n < 1 || n > 65535 {
		bad("port", "%q is not a port number (the document's 8.080 is 8080)", c.Port)
	}
	c.Path = strings.TrimPrefix(strings.TrimSpace(c.Path), "/")
	if strings.ContainsAny(c.Path, "?#% ") {
		bad("path", "%q must be a plain path (no ?, #, %% or spaces)", c.Path)
	}
	if c.OriginVar == "" {
		c.OriginVar = DefaultOriginVar
	}
	if c.DestinationVar == "" {
		c.DestinationVar = DefaultDestinationVar
	}
	for key, v := range map[string]string{"origin_var": c.OriginVar, "destination_var": c.DestinationVar} {
		if !varPattern.MatchString(v) {
			bad(key, "%q is not a URL variable name", v)
		}
	}
	c.Method = strings.ToUpper(strings.TrimSpace(c.Method))
	if c.Method == "" {
		c.Method = DefaultMethod
	}
	if c.Method != http.MethodGet && c.Method != http.MethodPost {
		bad("method", "must be GET or POST, not %q", c.Method)
	}
	if c.Auth < AuthNone || c.Auth > AuthBasicHeader {
		bad("auth", "must be 0 (none) or the document's 1 to 4, not %d", c.Auth)
	}
	for _, login := range slices.Sorted(maps.Keys(c.Agents)) {
		a := c.Agents[login]
		if a.Extension == "" || !isDigits(a.Extension) {
			bad("agents."+login+".extension", "%q is not an extension (digits)", a.Extension)
		}
		cr := a.Credentials.merge(c.Global)
		if c.Auth.basic() && (cr.User == "" || cr.Password == "") {
			bad("agents."+login, "auth %d needs a user and a password (global or the agent's)", c.Auth)
		}
		if (c.Auth.header() || c.Auth == AuthURLToken) && cr.Token == "" {
			bad("agents."+login, "auth %d needs a token (global or the agent's)", c.Auth)
		}
		if strings.ContainsAny(cr.Token, "\r\n") {
			bad("agents."+login+".token", "must not contain line breaks")
		}
	}
	// Notifications find the agent by extension: one agent per extension.
	owner := map[string]string{}
	for _, login := range slices.Sorted(maps.Keys(c.Agents)) {
		ext := c.Agents[login].Extension
		if other, dup := owner[ext]; dup {
			bad("agents."+login+".extension", "%s is also %s's extension", ext, other)
		}
		owner[ext] = login
	}
	r := &c.Rules
	if r.UseLine && (r.LinePrefix == "" || !isDigits(r.LinePrefix)) {
		bad("line_number", "use_line needs the line's number (digits), not %q", r.LinePrefix)
	}
	if r.InternalMaxLen == 0 {
		r.InternalMaxLen = DefaultInternalMaxLen
	}
	if r.InternalMaxLen < -1 {
		bad("internal_max_len", "-1 (none) or a number of digits")
	}
	tpl := map[relay.Verb]string{relay.VerbDial: DocumentTemplate}
	for v, s := range c.Templates {
		v = relay.Verb(strings.ToUpper(string(v)))
		switch {
		case v == relay.VerbStatus || v == relay.VerbCurrentCall:
			bad("urls."+string(v), "%s is answered with a state or a call, not OK: it cannot be a URL", v)
		case !knownVerb(v):
			bad("urls."+string(v), "unknown verb")
		default:
			if err := checkTemplate(s); err != nil {
				bad("urls."+string(v), "%v", err)
			}
			tpl[v] = s
		}
	}
	c.Templates = tpl
	if err := c.Vars.withDefaults(&c.Vars); err != nil {
		bad("vars", "%v", err)
	}
	if c.ConnectTimeout < 0 || c.RequestTimeout < 0 {
		bad("timeouts", "must not be negative")
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.MaxMessage <= 0 {
		c.MaxMessage = DefaultMaxMessage
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("httpdial config: %w", err)
	}
	return c, nil
}

func knownVerb(v relay.Verb) bool { return slices.Contains(relay.Verbs, v) }

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
