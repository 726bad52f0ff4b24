package signalr_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/epbx/epbxfake"
	"github.com/ctirelay/ctirelay/relay/epbx/signalr"
	"github.com/ctirelay/ctirelay/relay/relaytest"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testHub answers Echo, Fail, Hold (until released), Notify (sends n
// server calls first) and Progress.
type testHub struct {
	mu    sync.Mutex
	ids   []string
	hold  chan struct{}
	calls []string
}

func (h *testHub) Invoke(ctx context.Context, c *epbxfake.Conn, method string, args []json.RawMessage) (any, error) {
	h.mu.Lock()
	h.calls = append(h.calls, method)
	h.ids = append(h.ids, epbxfake.InvocationID(ctx))
	hold := h.hold
	h.mu.Unlock()
	switch strings.ToLower(method) {
	case "echo":
		var v any
		_ = json.Unmarshal(args[0], &v)
		return v, nil
	case "fail":
		return nil, &epbxfake.HubException{Message: "Ramal não logado no Atendimento", Data: map[string]int{"code": 7}}
	case "hold":
		select {
		case <-hold:
		case <-ctx.Done():
		}
		return "late", nil
	case "notify":
		var n int
		_ = json.Unmarshal(args[0], &n)
		for i := range n {
			c.Send("onEvento", i)
		}
		return n, nil
	case "progress":
		epbxfake.Progress(ctx, 50)
		return "done", nil
	}
	return nil, errors.New("no such method")
}

type rig struct {
	srv    *epbxfake.Server
	http   *httptest.Server
	token  string
	clock  *relaytest.Clock
	logs   *relaytest.Buffer
	hub    *testHub
	events chan signalr.Call
}

func newRig(t *testing.T, cfg epbxfake.Config) *rig {
	t.Helper()
	hub := &testHub{hold: make(chan struct{})}
	cfg.Hub = hub
	cfg.Users = map[string]string{"jose": "s3cret"}
	srv := epbxfake.New(cfg)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	r := &rig{srv: srv, http: hs, clock: relaytest.NewClock(time.Unix(0, 0)), logs: &relaytest.Buffer{}, hub: hub, events: make(chan signalr.Call, 100)}
	r.token = r.login(t)
	return r
}

// login takes a token from the fake's OAuth endpoint.
func (r *rig) login(t *testing.T) string {
	t.Helper()
	resp, err := r.http.Client().PostForm(r.http.URL+"/oauth2/Token", map[string][]string{"grant_type": {"password"}, "username": {"jose"}, "password": {"s3cret"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token: %v %+v", err, tok)
	}
	return tok.AccessToken
}

func (r *rig) client(t *testing.T, mod func(*signalr.Config)) *signalr.Client {
	t.Helper()
	cfg := signalr.Config{
		URL: r.http.URL + "/signalr", Hub: "AtendimentoHub",
		Token:  func(context.Context) (string, error) { return r.token, nil },
		OnCall: func(c signalr.Call) { r.events <- c },
		Clock:  r.clock,
		Logger: slog.New(slog.NewTextHandler(r.logs, nil)),
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := signalr.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c
}

func start(t *testing.T, c *signalr.Client) {
	t.Helper()
	if err := c.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
}

func invoke(t *testing.T, c *signalr.Client, method string, args ...any) json.RawMessage {
	t.Helper()
	r, err := c.Invoke(context.Background(), method, args...)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	return r
}

func TestInvoke(t *testing.T) {
	t.Parallel()
	r := newRig(t, epbxfake.Config{})
	c := r.client(t, nil)
	start(t, c)
	if got := string(invoke(t, c, "Echo", "olá")); got != `"olá"` {
		t.Errorf("Echo = %s", got)
	}
	if got := string(invoke(t, c, "echo", 42)); got != `42` {
		t.Errorf("echo = %s", got)
	}
	_, err := c.Invoke(context.Background(), "Fail")
	var he *signalr.HubError
	if !errors.As(err, &he) || !he.Hub || he.Message != "Ramal não logado no Atendimento" || string(he.Data) != `{"code":7}` {
		t.Errorf("Fail: %v (%+v)", err, he)
	}
	var progressed []string
	res, err := c.InvokeProgress(context.Background(), func(d json.RawMessage) { progressed = append(progressed, string(d)) }, "Progress")
	if err != nil || string(res) != `"done"` || len(progressed) != 1 || progressed[0] != "50" {
		t.Errorf("Progress = %s, %v, %v", res, err, progressed)
	}
	st := r.srv.Stats()
	if st.Negotiates != 1 || st.Connects != 1 || st.Starts != 1 || st.Invocations != 4 {
		t.Errorf("stats %+v", st)
	}
}

func TestServerCalls(t *testing.T) {
	t.Parallel()
	r := newRig(t, epbxfake.Config{})
	c := r.client(t, nil)
	start(t, c)
	invoke(t, c, "Notify", 3)
	for i := range 3 {
		call := <-r.events
		if !call.Is("ONEVENTO") || string(call.Args[0]) != string(rune('0'+i)) {
			t.Errorf("call %d = %+v", i, call)
		}
	}
}

func TestTokenPlace(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		server string
		client signalr.TokenPlace
		ok     bool
	}{
		{"header", signalr.TokenHeader, true},
		{"query", signalr.TokenQuery, true},
		{"header", signalr.TokenBoth, true},
		{"query", signalr.TokenBoth, true},
		{"header", signalr.TokenQuery, false},
		{"query", signalr.TokenHeader, false},
	} {
		t.Run(tc.server+"/"+string(tc.client), func(t *testing.T) {
			t.Parallel()
			r := newRig(t, epbxfake.Config{TokenIn: tc.server})
			c := r.client(t, func(c *signalr.Config) { c.TokenIn = tc.client })
			err := c.Start(context.Background())
			if (err == nil) != tc.ok {
				t.Fatalf("Start: %v, want ok %v", err, tc.ok)
			}
			if err != nil && strings.Contains(err.Error(), r.token) {
				t.Errorf("the error shows the token: %v", err)
			}
		})
	}
}

// A dropped socket: the call in flight fails ErrLost (in doubt), the client
// reconnects with its message id and gets what the hub sent meanwhile.
func TestDroppedSocketReconnects(t *testing.T) {
	t.Parallel()
	r := newRig(t, epbxfake.Config{})
	c := r.client(t, nil)
	start(t, c)
	errc := make(chan error, 1)
	go func() {
		_, err := c.Invoke(context.Background(), "Hold")
		errc <- err
	}()
	wait.For(t, "the held call", func() bool { return r.srv.Stats().Invocations == 1 })
	conn := r.srv.Conns()[0]
	conn.Send("onAntes", 1)
	<-r.events
	r.srv.Down(true) // drops the socket; reconnects fail meanwhile
	if err := <-errc; !errors.Is(err, signalr.ErrLost) {
		t.Fatalf("held call: %v, want ErrLost", err)
	}
	conn.Send("onDurante", 2) // sent while the socket is down
	r.srv.Down(false)
	wait.For(t, "reconnected", func() bool {
		r.clock.Advance(2 * time.Second)
		return c.State() == signalr.Connected
	})
	call := <-r.events
	if !call.Is("onDurante") {
		t.Fatalf("after reconnect got %+v, want the missed onDurante", call)
	}
	if st := r.srv.Stats(); st.Reconnects == 0 || st.Negotiates != 1 {
		t.Errorf("stats %+v: want a reconnect, no new negotiate", st)
	}
	invoke(t, c, "Echo", 1)
}

func TestKeepAliveWatchdog(t *testing.T) {
	t.Parallel()
	r := newRig(t, epbxfake.Config{KeepAlive: time.Hour}) // KeepAliveTimeout 2 h
	c := r.client(t, nil)
	start(t, c)
	r.clock.Advance(80 * time.Minute) // past ⅔
	wait.For(t, "the warning", func() bool { return strings.Contains(r.logs.String(), "keep-alive late") })
	if r.srv.Stats().Reconnects != 0 {
		t.Fatal("reconnected at the warning")
	}
	r.clock.Advance(40 * time.Minute) // the full timeout
	wait.For(t, "a reconnect", func() bool { return r.srv.Stats().Reconnects == 1 && c.State() == signalr.Connected })
	if !strings.Contains(r.logs.String(), "keep-alive timeout") {
		t.Errorf("logs: %s", r.logs.String())
	}
}

func TestAskedToReconnect(t *testing.T) {
	t.Parallel()
	r := newRig(t, epbxfake.Config{})
	c := r.client(t, nil)
	start(t, c)
	r.srv.AskReconnect()
	wait.For(t, "a reconnect", func() bool { return r.srv.Stats().Reconnects == 1 && c.State() == signalr.Connected })
	invoke(t, c, "Echo", 1)
}

// A reconnect refused for the whole DisconnectTimeout ends in a restart:
// a new negotiate and OnRestart, so the caller logs on again.
func TestReconnectFailsIntoRestart(t *testing.T) {
	t.Parallel()
	r := newRig(t, epbxfake.Config{})
	var restarts atomic.Int32
	c := r.client(t, func(cfg *signalr.Config) {
		cfg.OnRestart = func(ctx context.Context) { restarts.Add(1) }
	})
	start(t, c)
	first := c.ConnectionID()
	r.srv.Forget()
	wait.For(t, "a restart", func() bool {
		r.clock.Advance(2 * time.Second)
		return restarts.Load() == 1
	})
	if c.ConnectionID() == first {
		t.Error("the connection id did not change")
	}
	if st := r.srv.Stats(); st.Negotiates != 2 || st.Reconnects != 0 {
		t.Errorf("stats %+v", st)
	}
	invoke(t, c, "Echo", 1)
}

func TestNotConnectedIsNotSent(t *testing.T) {
	t.Parallel()
	r := newRig(t, epbxfake.Config{})
	c := r.client(t, nil)
	if _, err := c.Invoke(context.Background(), "Echo", 1); !errors.Is(err, signalr.ErrNotConnected) {
		t.Fatalf("before start: %v", err)
	}
	start(t, c)
	r.srv.Down(true)
	wait.For(t, "reconnecting", func() bool { return c.State() != signalr.Connected })
	if _, err := c.Invoke(context.Background(), "Echo", 1); !errors.Is(err, signalr.ErrNotConnected) {
		t.Fatalf("while down: %v", err)
	}
}

func TestStopAborts(t *testing.T) {
	t.Parallel()
	r := newRig(t, epbxfake.Config{})
	c := r.client(t, nil)
	start(t, c)
	c.Stop()
	c.Stop()
	if st := r.srv.Stats(); st.Aborts != 1 {
		t.Errorf("stats %+v: want one abort", st)
	}
	if err := c.Start(context.Background()); !errors.Is(err, relay.ErrStopped) {
		t.Errorf("Start after Stop: %v", err)
	}
	if _, err := c.Invoke(context.Background(), "Echo", 1); !errors.Is(err, signalr.ErrStopped) {
		t.Errorf("Invoke after Stop: %v", err)
	}
}

func TestStartStop(t *testing.T) {
	relaytest.StressStartStop(t, func(t *testing.T) relay.Service {
		r := newRig(t, epbxfake.Config{})
		return r.client(t, nil)
	})
}

func TestLargeFrame(t *testing.T) {
	t.Parallel()
	r := newRig(t, epbxfake.Config{})
	c := r.client(t, nil)
	start(t, c)
	big := strings.Repeat("x", 60<<10) // over the library's 32 KiB default
	if got := invoke(t, c, "Echo", big); len(got) != len(big)+2 {
		t.Errorf("echo of %d bytes came back as %d", len(big), len(got))
	}
}

// Invocation ids increase over the client's life, across reconnects and
// restarts.
func TestInvocationIDsIncrease(t *testing.T) {
	t.Parallel()
	r := newRig(t, epbxfake.Config{})
	c := r.client(t, nil)
	start(t, c)
	invoke(t, c, "Echo", 1)
	invoke(t, c, "Echo", 2)
	r.srv.AskReconnect()
	wait.For(t, "a reconnect", func() bool { return r.srv.Stats().Reconnects == 1 && c.State() == signalr.Connected })
	invoke(t, c, "Echo", 3)
	r.hub.mu.Lock()
	ids := append([]string(nil), r.hub.ids...)
	r.hub.mu.Unlock()
	if strings.Join(ids, ",") != "0,1,2" {
		t.Errorf("ids %v, want 0,1,2", ids)
	}
}

// "D":1 (the server ended the connection) and "E" (an error that stops it)
// skip the reconnect: the client starts over at once.
func TestDisconnectAndErrorStartOver(t *testing.T) {
	t.Parallel()
	for name, send := range map[string]func(*epbxfake.Server){
		"D:1": (*epbxfake.Server).Disconnect,
		"E":   func(s *epbxfake.Server) { s.ServerError("boom") },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, epbxfake.Config{})
			var restarts atomic.Int32
			c := r.client(t, func(cfg *signalr.Config) {
				cfg.OnRestart = func(context.Context) { restarts.Add(1) }
			})
			start(t, c)
			send(r.srv)
			wait.For(t, "a restart", func() bool { return restarts.Load() == 1 })
			if st := r.srv.Stats(); st.Reconnects != 0 || st.Negotiates != 2 {
				t.Errorf("stats %+v", st)
			}
			invoke(t, c, "Echo", 1)
		})
	}
}

// Every request carries the protocol version, the transport (after
// negotiate) and the hub: the fake refuses requests without them, so a
// client that forgot one could not even start.
func TestRequestsCarryTheProtocol(t *testing.T) {
	t.Parallel()
	r := newRig(t, epbxfake.Config{})
	resp, err := r.http.Client().Get(r.http.URL + "/signalr/negotiate?connectionData=%5B%7B%22name%22%3A%22atendimentohub%22%7D%5D&access_token=" + r.token)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("negotiate without clientProtocol: %s", resp.Status)
	}
	c := r.client(t, nil)
	start(t, c)
	c.Stop()
	if st := r.srv.Stats(); st.Starts != 1 || st.Aborts != 1 {
		t.Errorf("stats %+v", st)
	}
}

// InvokeWithin gives up at its timeout with a deadline error (sent, no
// result), and the result that comes after is nobody's: the invocations
// after it (reusing the pooled state) each get their own result.
func TestInvokeWithinTimesOut(t *testing.T) {
	t.Parallel()
	r := newRig(t, epbxfake.Config{})
	c := r.client(t, nil)
	start(t, c)
	if _, err := c.InvokeWithin(context.Background(), time.Millisecond, "Hold"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Hold within 1ms: %v, want a deadline error", err)
	}
	close(r.hub.hold) // the held call answers "late" now: nobody waits for it
	for i := range 50 {
		got, err := c.InvokeWithin(context.Background(), time.Minute, "Echo", i)
		if err != nil || string(got) != strconv.Itoa(i) {
			t.Fatalf("Echo %d = %s, %v", i, got, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.InvokeWithin(ctx, time.Minute, "Echo", 1); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
