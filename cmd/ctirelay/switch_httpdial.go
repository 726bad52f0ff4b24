package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/httpdial"
)

// HTTPDialConfig is switch.httpdial: a click-to-dial platform, configured
// with the fields of Senior CRM X's configuracao_cti (named in the comments).
// Secrets belong in the environment: password: ${CTI_PASSWORD}.
type HTTPDialConfig struct {
	Protocol       string `yaml:"protocol"`        // protocolo: http | https
	Host           string `yaml:"host"`            // ip
	Port           string `yaml:"port"`            // porta
	Path           string `yaml:"path"`            // caminho: api/clicktodial
	OriginVar      string `yaml:"origin_var"`      // cti_nome_origem (origem)
	DestinationVar string `yaml:"destination_var"` // cti_nome_destino (destino)
	Method         string `yaml:"method"`          // metodo_chamada: GET | POST
	Auth           int    `yaml:"auth"`            // autenticacao: 0 none, 1 basic, 2 token_auth header, 3 token in the URL, 4 basic + header
	User           string `yaml:"user"`            // $agente, for every agent without its own
	Password       string `yaml:"password"`        // $senha
	Token          string `yaml:"token"`           // $token

	// Agents maps relay logins to extensions (ramal) and, optionally, their
	// own credentials.
	Agents map[string]HTTPDialAgent `yaml:"agents"`

	ZeroDDD        bool     `yaml:"zero_ddd"`         // usa_zero_ddd
	UseLine        bool     `yaml:"use_line"`         // usa_linha
	LineNumber     string   `yaml:"line_number"`      // numero_linha
	InternalMaxLen int      `yaml:"internal_max_len"` // numbers this short are extensions (4; -1 none)
	Internal       []string `yaml:"internal"`         // and these

	// URLs gives a URL template per verb: A overrides the document's, D
	// makes hang-up possible.
	URLs map[string]string `yaml:"urls"`

	// Vars name the variables of the platform's call reports.
	Vars HTTPDialVars `yaml:"vars"`

	// CAFile, when set, is the PEM bundle that https platforms' certificates
	// must chain to, instead of the system's roots (an internal CA).
	CAFile string `yaml:"ca_file"`

	ConnectTimeout Duration `yaml:"connect_timeout"`
	RequestTimeout Duration `yaml:"request_timeout"`
	MaxBodyBytes   int      `yaml:"max_body_bytes"`
}

// HTTPDialAgent is one agent at the platform.
type HTTPDialAgent struct {
	Extension string `yaml:"extension"`
	User      string `yaml:"user"`
	Password  string `yaml:"password"`
	Token     string `yaml:"token"`
}

// HTTPDialVars are the names of the call reports' variables.
type HTTPDialVars struct {
	Event          string `yaml:"event"`
	Origin         string `yaml:"origin"`          // nome_variavel_origem
	Destination    string `yaml:"destination"`     // nome_variavel_destino
	OriginOut      string `yaml:"origin_out"`      // nome_variavel_origem_sainte
	DestinationOut string `yaml:"destination_out"` // nome_variavel_destino_sainte
	Audio          string `yaml:"audio"`           // nome_variavel_audio
	CallID         string `yaml:"call_id"`
}

func (v HTTPDialVars) vars() httpdial.Vars {
	return httpdial.Vars{Event: v.Event, Origin: v.Origin, Destination: v.Destination,
		OriginOut: v.OriginOut, DestinationOut: v.DestinationOut, Audio: v.Audio, CallID: v.CallID}
}

// driverConfig is the driver's configuration; New validates it.
func (h HTTPDialConfig) driverConfig(log *slog.Logger) httpdial.Config {
	agents := make(map[string]httpdial.Agent, len(h.Agents))
	for login, a := range h.Agents {
		agents[login] = httpdial.Agent{Extension: a.Extension, Credentials: httpdial.Credentials{User: a.User, Password: a.Password, Token: a.Token}}
	}
	var urls map[relay.Verb]string
	for verb, tpl := range h.URLs {
		if urls == nil {
			urls = map[relay.Verb]string{}
		}
		urls[relay.Verb(strings.ToUpper(verb))] = tpl
	}
	return httpdial.Config{
		Protocol: h.Protocol, Host: h.Host, Port: h.Port, Path: h.Path,
		OriginVar: h.OriginVar, DestinationVar: h.DestinationVar, Method: h.Method,
		Auth: httpdial.AuthMode(h.Auth), Global: httpdial.Credentials{User: h.User, Password: h.Password, Token: h.Token},
		Agents: agents,
		Rules: httpdial.DialRules{ZeroDDD: h.ZeroDDD, UseLine: h.UseLine, LinePrefix: h.LineNumber,
			InternalMaxLen: h.InternalMaxLen, Internal: h.Internal},
		Templates: urls, Vars: h.Vars.vars(),
		ConnectTimeout: time.Duration(h.ConnectTimeout), RequestTimeout: time.Duration(h.RequestTimeout),
		MaxBodyBytes: h.MaxBodyBytes,
		Logger:       log,
	}
}

// tlsConfig reads ca_file; nil without one (the system's roots).
func (h HTTPDialConfig) tlsConfig() (*tls.Config, error) {
	if h.CAFile == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(h.CAFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", h.CAFile)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// newDriver builds the driver.
func (h HTTPDialConfig) newDriver(log *slog.Logger) (*httpdial.Driver, error) {
	tc, err := h.tlsConfig()
	if err != nil {
		return nil, fmt.Errorf("ca_file: %w", err)
	}
	dc := h.driverConfig(log)
	dc.TLS = tc
	return httpdial.New(dc)
}

// validate reports each bad setting under its key in the file.
func (h HTTPDialConfig) validate(bad func(key, format string, a ...any)) {
	if h.Host == "" {
		bad("switch.httpdial.host", "required with driver httpdial (the platform's address, cti_ip)")
		return
	}
	if len(h.Agents) == 0 {
		bad("switch.httpdial.agents", "required with driver httpdial: each login's extension (ramal)")
	}
	if _, err := h.tlsConfig(); err != nil {
		bad("switch.httpdial.ca_file", "%v", err)
	}
	_, err := httpdial.New(h.driverConfig(nil))
	for _, fe := range httpdial.FieldErrors(err) {
		bad("switch.httpdial."+fe.Key, "%s", fe.Msg)
	}
}
