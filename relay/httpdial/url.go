package httpdial

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// Redacted stands for a secret in logs, errors and the journal.
const Redacted = "REDACTED"

var placeholder = regexp.MustCompile(`\$([A-Za-z][A-Za-z0-9]*)`)

// request is what one command's URL is built from.
type request struct {
	login, ramal, phone string
	args                []string
	creds               Credentials
}

// placeholders names what a template may use: the document's names, the
// English ones of the design brief, the login and the command's arguments.
func (c *Config) value(name string, r request, redact bool) (string, bool) {
	switch name {
	case "protocolo", "protocol":
		return c.Protocol, true
	case "ip", "host":
		return c.Host, true
	case "porta", "port":
		return c.Port, true
	case "caminho", "path":
		return c.Path, true
	case "nomeOrigem", "origin":
		return c.OriginVar, true
	case "nomeDestino", "destination":
		return c.DestinationVar, true
	case "ramal", "extension":
		return url.QueryEscape(r.ramal), true
	case "phone":
		return url.QueryEscape(r.phone), true
	case "login":
		return url.QueryEscape(r.login), true
	case "tokenUrl":
		if c.Auth != AuthURLToken {
			return "", true
		}
		if redact {
			return "&token=" + Redacted, true
		}
		return "&token=" + url.QueryEscape(r.creds.Token), true
	}
	if len(name) == 4 && strings.HasPrefix(name, "arg") && name[3] >= '1' && name[3] <= '9' {
		i := int(name[3] - '1')
		if i < len(r.args) {
			return url.QueryEscape(r.args[i]), true
		}
		return "", true
	}
	return "", false
}

// buildURL expands tpl for r: the URL to send and the one to show, which has
// the token replaced by Redacted.
func (c *Config) buildURL(tpl string, r request) (send, show string, err error) {
	expand := func(redact bool) (string, error) {
		var unknown []string
		out := placeholder.ReplaceAllStringFunc(tpl, func(m string) string {
			v, ok := c.value(m[1:], r, redact)
			if !ok {
				unknown = append(unknown, m)
			}
			return v
		})
		if len(unknown) > 0 {
			return "", fmt.Errorf("unknown placeholder %s", strings.Join(unknown, ", "))
		}
		return out, nil
	}
	if send, err = expand(false); err != nil {
		return "", "", err
	}
	if show, err = expand(true); err != nil {
		return "", "", err
	}
	u, err := url.Parse(send)
	switch {
	case err != nil:
		// url.Parse quotes the URL, token included: say where, not what.
		return "", "", fmt.Errorf("template %q does not give a URL", tpl)
	case u.Scheme != "http" && u.Scheme != "https":
		return "", "", fmt.Errorf("template %q gives scheme %q, not http or https", tpl, u.Scheme)
	case u.Host == "":
		return "", "", fmt.Errorf("template %q gives no host", tpl)
	}
	return send, show, nil
}

// checkTemplate validates a template from config with sample values.
func checkTemplate(tpl string) error {
	if strings.TrimSpace(tpl) == "" {
		return errors.New("empty template")
	}
	c := Config{Protocol: "https", Host: "example.com", Port: "443", OriginVar: "o", DestinationVar: "d"}
	_, _, err := c.buildURL(tpl, request{login: "jose", ramal: "1", phone: "1"})
	return err
}

// scrub replaces the secrets of creds in s (an answer's text, an error)
// by Redacted, so a platform echoing them does not leak them to T_TTO.
func scrub(s string, creds Credentials) string {
	for _, secret := range []string{creds.Token, creds.Password, url.QueryEscape(creds.Token), url.QueryEscape(creds.Password)} {
		if len(secret) >= 3 {
			s = strings.ReplaceAll(s, secret, Redacted)
		}
	}
	return s
}
