package httpdial_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/drivertest"
	"github.com/ctirelay/ctirelay/relay/httpdial"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// seen is one request as the platform received it.
type seen struct {
	Method, URI string
	Header      http.Header
}

// platform is a click-to-dial platform under the test's control: it records
// each request, may hold it (drivertest.Holder) and answers with status and
// body (200 "OK" by default).
type platform struct {
	drivertest.Holder
	srv *httptest.Server

	mu     sync.Mutex
	seen   []seen
	status int
	body   string
}

func newPlatform(t *testing.T) *platform {
	t.Helper()
	p := &platform{status: http.StatusOK, body: "OK"}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *platform) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.seen = append(p.seen, seen{Method: r.Method, URI: r.RequestURI, Header: r.Header.Clone()})
	status, body := p.status, p.body
	p.mu.Unlock()
	if release := p.Arrive(); release != nil {
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
	}
	if strings.HasPrefix(body, "<html>") {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
	}
	if status >= 300 && status < 400 {
		w.Header().Set("Location", "http://elsewhere.example/")
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

func (p *platform) answer(status int, body string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.status, p.body = status, body
}

func (p *platform) requests() []seen {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]seen(nil), p.seen...)
}

// host and port of the test server.
func (p *platform) hostPort(t *testing.T) (string, string) {
	t.Helper()
	addr := p.srv.Listener.Addr().String()
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			if _, err := strconv.Atoi(addr[i+1:]); err != nil {
				t.Fatal(err)
			}
			return addr[:i], addr[i+1:]
		}
	}
	t.Fatalf("no port in %s", addr)
	return "", ""
}

// config points at p with jose on extension 3501.
func (p *platform) config(t *testing.T) httpdial.Config {
	host, port := p.hostPort(t)
	return httpdial.Config{
		Protocol: "http", Host: host, Port: port, Path: "api/clicktodial",
		Agents: map[string]httpdial.Agent{"jose": {Extension: "3501"}},
	}
}

func newDriver(t *testing.T, cfg httpdial.Config) *httpdial.Driver {
	t.Helper()
	d, err := httpdial.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func execute(t *testing.T, d *httpdial.Driver, frame string) ([]relay.Frame, error) {
	t.Helper()
	return d.Execute(context.Background(), drivertest.Command(t, frame))
}

// sink records events.
type sink struct {
	mu     sync.Mutex
	frames []string
}

func (s *sink) Event(_ context.Context, f relay.Frame) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.frames = append(s.frames, f.String())
}

func (s *sink) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.frames
	s.frames = nil
	return out
}
