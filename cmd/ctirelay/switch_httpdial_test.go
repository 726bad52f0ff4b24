package main

import (
	"context"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/httpdial"
)

// The shipped sample is the document's example: its dial URL is the
// document's, with the password from the environment.
func TestHTTPDialSampleConfig(t *testing.T) {
	t.Setenv("CTI_PASSWORD", "from-env")
	cfg, err := LoadConfig(filepath.Join("..", "..", "testdata", "config", "httpdial.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	h := cfg.Switch.HTTPDial
	if cfg.Switch.Driver != "httpdial" || h.Port != "8080" || h.Password != "from-env" || h.Agents["jose"].Extension != "3501" {
		t.Fatalf("switch = %+v", cfg.Switch)
	}
	dc := h.driverConfig(slog.New(slog.DiscardHandler))
	var sent *http.Request
	dc.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		sent = r
		return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
	})
	d, err := httpdial.New(dc)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	f, _ := relay.Parse("<jose><A><47><32100123><>$")
	cmd, _ := relay.ParseCommand(f)
	if _, err := d.Execute(context.Background(), cmd); err != nil {
		t.Fatal(err)
	}
	if got := sent.URL.String(); got != "https://demo.integracaocto.com.br:8080/api/clicktodial?origem=3501&destino=4732100123" {
		t.Fatalf("URL %s", got)
	}
	if u, p, _ := sent.BasicAuth(); u != "agente" || p != "from-env" {
		t.Fatalf("basic auth %s:%s", u, p)
	}
	if !d.Supports(relay.VerbHangUp) {
		t.Fatal("urls.D makes D supported")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestHTTPDialConfigErrorsNameTheKey(t *testing.T) {
	t.Parallel()
	base := "switch:\n  driver: httpdial\n  httpdial:\n    host: pbx.example\n    agents: {jose: {extension: \"3501\"}}\n"
	cases := []struct{ name, extra, want string }{
		{"no host", "switch:\n  driver: httpdial\n", "switch.httpdial.host: required with driver httpdial"},
		{"no agents", "switch:\n  driver: httpdial\n  httpdial: {host: pbx.example}\n", "switch.httpdial.agents: required"},
		{"protocol", "    protocol: ftp\n", "switch.httpdial.protocol: must be http or https"},
		{"port", "    port: 8.080\n", "switch.httpdial.port: "},
		{"method", "    method: PUT\n", "switch.httpdial.method: must be GET or POST"},
		{"auth", "    auth: 7\n", "switch.httpdial.auth: "},
		{"credentials", "    auth: 2\n", "switch.httpdial.agents.jose: auth 2 needs a token"},
		{"extension", "    agents: {jose: {extension: \"35x\"}}\n", "switch.httpdial.agents.jose.extension: "},
		{"line", "    use_line: true\n", "switch.httpdial.line_number: "},
		{"url verb", "    urls: {S: \"http://x/\"}\n", "switch.httpdial.urls.S: "},
		{"url placeholder", "    urls: {D: \"http://x/?r=$rama\"}\n", "switch.httpdial.urls.D: unknown placeholder $rama"},
		{"vars", "    vars: {origin: a, destination: a}\n", "switch.httpdial.vars: "},
		{"unknown key", "    senha: x\n", `unknown key "senha" in switch.httpdial`},
		{"missing secret", "    token: ${CTIRELAY_TEST_UNSET_TOKEN}\n", "environment variable CTIRELAY_TEST_UNSET_TOKEN is not set"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			body := base + c.extra
			if strings.HasPrefix(c.extra, "switch:") {
				body = c.extra
			}
			if strings.Contains(c.extra, "agents:") {
				body = strings.Replace(base, "    agents: {jose: {extension: \"3501\"}}\n", "", 1) + c.extra
			}
			_, err := LoadConfig(writeConfig(t, body))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error = %v, want it to contain %q", err, c.want)
			}
		})
	}
	if _, err := LoadConfig(writeConfig(t, base)); err != nil {
		t.Fatalf("the base config: %v", err)
	}
}

// ca_file trusts a platform whose certificate an internal CA signed; without
// it the same platform is refused (and nothing was sent: retried).
func TestHTTPDialCAFile(t *testing.T) {
	t.Parallel()
	var dials atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { dials.Add(1) }))
	defer srv.Close()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	h := HTTPDialConfig{Protocol: "https", Host: host, Port: port, Agents: map[string]HTTPDialAgent{"jose": {Extension: "3501"}}}
	f, _ := relay.Parse("<jose><A><85><40050500><>$")
	cmd, _ := relay.ParseCommand(f)
	for _, c := range []struct {
		caFile string
		ok     bool
	}{{"", false}, {ca, true}} {
		h.CAFile = c.caFile
		d, err := h.newDriver(slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		_, err = d.Execute(context.Background(), cmd)
		d.Close()
		if c.ok && err != nil {
			t.Fatalf("with ca_file: %v", err)
		}
		if !c.ok && (!relay.IsTransient(err) || errors.Is(err, relay.ErrInDoubt)) {
			t.Fatalf("without ca_file: %v, want a transient failure (not sent)", err)
		}
	}
	if n := dials.Load(); n != 1 {
		t.Fatalf("%d dials reached the platform", n)
	}
	bad := writeConfig(t, "switch:\n  driver: httpdial\n  httpdial:\n    host: x.example\n    ca_file: "+filepath.Join(dir, "none.pem")+"\n    agents: {jose: {extension: \"1\"}}\n")
	if _, err := LoadConfig(bad); err == nil || !strings.Contains(err.Error(), "switch.httpdial.ca_file: ") {
		t.Fatalf("a missing ca_file: %v", err)
	}
}
