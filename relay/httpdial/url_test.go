package httpdial_test

import (
	"encoding/base64"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ctirelay/ctirelay/relay/httpdial"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// roundTripper answers 200 and records the URLs it was asked for, so the
// document's example host is never contacted.
type roundTripper struct {
	mu   sync.Mutex
	urls []string
}

func (rt *roundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.mu.Lock()
	rt.urls = append(rt.urls, r.URL.String())
	rt.mu.Unlock()
	return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("OK")), Header: http.Header{}, Request: r}, nil
}

// The document's example (Campo cti_protocolo: https … cti_nome_destino:
// destino) gives the document's URL byte for byte.
func TestDocumentExampleURL(t *testing.T) {
	t.Parallel()
	rt := &roundTripper{}
	d := newDriver(t, httpdial.Config{
		Protocol: "https", Host: "demo.integracaocto.com.br", Port: "8080", Path: "api/clicktodial",
		OriginVar: "origem", DestinationVar: "destino", Auth: httpdial.AuthBasic,
		Global: httpdial.Credentials{User: "agente", Password: "senha"},
		Agents: map[string]httpdial.Agent{"jose": {Extension: "3501"}}, Transport: rt,
	})
	frames, err := execute(t, d, "<jose><A><47><32100123><>$")
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) != 1 || frames[0].String() != "<jose><OK>$" {
		t.Fatalf("replies = %v", frames)
	}
	if len(rt.urls) != 1 {
		t.Fatalf("%d requests", len(rt.urls))
	}
	got := rt.urls[0] + "\n"
	golden := filepath.Join("testdata", "document_example_url.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Fatalf("URL\n got %q\nwant %q", got, want)
	}
	if got != "https://demo.integracaocto.com.br:8080/api/clicktodial?origem=3501&destino=4732100123\n" {
		t.Fatalf("the golden file is not the document's URL: %q", got)
	}
}

// Each of the document's four modes, against a platform that sees the exact
// request; per-agent credentials win over the global ones.
func TestAuthModes(t *testing.T) {
	t.Parallel()
	basic := func(u, p string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(u+":"+p)) }
	global := httpdial.Credentials{User: "g-user", Password: "g-pass", Token: "g-token"}
	cases := []struct {
		name       string
		mode       httpdial.AuthMode
		agent      httpdial.Credentials
		wantURI    string
		wantAuth   string
		wantHeader string
	}{
		{"none", httpdial.AuthNone, httpdial.Credentials{}, "/api/clicktodial?origem=3501&destino=8540050500", "", ""},
		{"1 basic", httpdial.AuthBasic, httpdial.Credentials{}, "/api/clicktodial?origem=3501&destino=8540050500", basic("g-user", "g-pass"), ""},
		{"1 basic, the agent's", httpdial.AuthBasic, httpdial.Credentials{User: "jose", Password: "s3cret"}, "/api/clicktodial?origem=3501&destino=8540050500", basic("jose", "s3cret"), ""},
		{"2 header", httpdial.AuthHeader, httpdial.Credentials{}, "/api/clicktodial?origem=3501&destino=8540050500", "", "g-token"},
		{"2 header, the agent's", httpdial.AuthHeader, httpdial.Credentials{Token: "jose-token"}, "/api/clicktodial?origem=3501&destino=8540050500", "", "jose-token"},
		{"3 URL token", httpdial.AuthURLToken, httpdial.Credentials{}, "/api/clicktodial?origem=3501&destino=8540050500&token=g-token", "", ""},
		{"3 URL token, escaped", httpdial.AuthURLToken, httpdial.Credentials{Token: "a&b=c d"}, "/api/clicktodial?origem=3501&destino=8540050500&token=a%26b%3Dc+d", "", ""},
		{"4 basic and header", httpdial.AuthBasicHeader, httpdial.Credentials{Password: "own"}, "/api/clicktodial?origem=3501&destino=8540050500", basic("g-user", "own"), "g-token"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p := newPlatform(t)
			cfg := p.config(t)
			cfg.Auth, cfg.Global = c.mode, global
			cfg.Agents = map[string]httpdial.Agent{"jose": {Extension: "3501", Credentials: c.agent}}
			d := newDriver(t, cfg)
			if _, err := execute(t, d, "<jose><A><85><40050500><>$"); err != nil {
				t.Fatal(err)
			}
			reqs := p.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests", len(reqs))
			}
			r := reqs[0]
			if r.Method != "GET" || r.URI != c.wantURI {
				t.Errorf("request %s %s, want GET %s", r.Method, r.URI, c.wantURI)
			}
			if got := r.Header.Get("Authorization"); got != c.wantAuth {
				t.Errorf("Authorization %q, want %q", got, c.wantAuth)
			}
			if got := r.Header.Values(httpdial.TokenHeader); strings.Join(got, ",") != c.wantHeader {
				t.Errorf("%s %q, want %q", httpdial.TokenHeader, got, c.wantHeader)
			}
		})
	}
}

// Every part of the URL is configurable, and metodo_chamada picks the method.
func TestURLParts(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	cfg := p.config(t)
	cfg.Path, cfg.OriginVar, cfg.DestinationVar, cfg.Method = "/discar/agora", "ramal", "numero", "post"
	d := newDriver(t, cfg)
	if _, err := execute(t, d, "<jose><A><><40050500><>$"); err != nil {
		t.Fatal(err)
	}
	r := p.requests()[0]
	if r.Method != "POST" || r.URI != "/discar/agora?ramal=3501&numero=40050500" {
		t.Fatalf("request %s %s", r.Method, r.URI)
	}
}
