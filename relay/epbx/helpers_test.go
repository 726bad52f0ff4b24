package epbx_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/drivertest"
	"github.com/ctirelay/ctirelay/relay/epbx"
	"github.com/ctirelay/ctirelay/relay/epbx/epbxfake"
	"github.com/ctirelay/ctirelay/relay/epbx/epbxsim"
	"github.com/ctirelay/ctirelay/relay/relaytest"
	"github.com/ctirelay/ctirelay/relay/sim"
)

// holdHub passes invocations to the simulated hub, or, while holding,
// keeps them until released or their socket closes.
type holdHub struct {
	drivertest.Holder
	next *epbxsim.Hub
	mu   sync.Mutex
	log  []string // methods invoked, in order
	fail map[string]int
	errs map[string]error // a hub error for the method instead of the call
}

func (h *holdHub) Invoke(ctx context.Context, c *epbxfake.Conn, method string, args []json.RawMessage) (any, error) {
	h.mu.Lock()
	h.log = append(h.log, method)
	herr := h.errs[method]
	h.mu.Unlock()
	if herr != nil {
		return nil, herr
	}
	if release := h.Arrive(); release != nil {
		select {
		case <-release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return h.next.Invoke(ctx, c, method, args)
}

func (h *holdHub) Connected(c *epbxfake.Conn)    { h.next.Connected(c) }
func (h *holdHub) Disconnected(c *epbxfake.Conn) { h.next.Disconnected(c) }

func (h *holdHub) methods() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.log...)
}

type env struct {
	sw   *sim.Switch
	hub  *holdHub
	srv  *epbxfake.Server
	http *httptest.Server
	logs *relaytest.Buffer
	cfg  epbx.Config
}

const secret = "jose-Pa55word"

func newEnv(t *testing.T, fc epbxfake.Config) *env {
	t.Helper()
	sw, err := sim.New(sim.Config{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := sw.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	hub := &holdHub{next: epbxsim.New(sw)}
	hub.next.Start()
	fc.Hub = hub
	if fc.Users == nil {
		fc.Users = map[string]string{"jose": secret, "maria": "m"}
	}
	srv := epbxfake.New(fc)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
		hub.next.Stop()
		sw.Stop()
	})
	logs := &relaytest.Buffer{}
	return &env{sw: sw, hub: hub, srv: srv, http: hs, logs: logs, cfg: epbx.Config{
		BaseURL: hs.URL, ClientID: "ctirelay",
		Agents: map[string]epbx.Agent{
			"jose":  {Username: "jose", Password: secret, Logon: epbx.LogonIdPa, Target: "1001", Extension: "7001"},
			"maria": {Username: "maria", Password: "m", Logon: epbx.LogonRamalVirtual, Target: "7002"},
		},
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}}
}

func (e *env) driver(t *testing.T, mod func(*epbx.Config)) *epbx.Driver {
	t.Helper()
	cfg := e.cfg
	if mod != nil {
		mod(&cfg)
	}
	d, err := epbx.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// events is a sink that keeps what arrives.
type events struct {
	mu sync.Mutex
	fs []string
}

func (s *events) Event(_ context.Context, f relay.Frame) {
	s.mu.Lock()
	s.fs = append(s.fs, f.String())
	s.mu.Unlock()
}

func (s *events) all() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.fs...)
}

func (s *events) has(prefix string) bool {
	for _, f := range s.all() {
		if len(f) >= len(prefix) && f[:len(prefix)] == prefix {
			return true
		}
	}
	return false
}

func open(t *testing.T, d *epbx.Driver) *events {
	t.Helper()
	s := &events{}
	if err := d.Open(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	return s
}

func exec(t *testing.T, d *epbx.Driver, frame string) ([]relay.Frame, error) {
	t.Helper()
	return d.Execute(context.Background(), drivertest.Command(t, frame))
}

func must(t *testing.T, d *epbx.Driver, frame, want string) {
	t.Helper()
	fs, err := exec(t, d, frame)
	if err != nil {
		t.Fatalf("%s: %v", frame, err)
	}
	if len(fs) != 1 || fs[0].String() != want {
		t.Fatalf("%s = %v, want %s", frame, fs, want)
	}
}
