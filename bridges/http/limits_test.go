package httpbridge

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
)

// TestSlowlorisIsCut: a client that never finishes its headers is
// disconnected by ReadHeaderTimeout, and meanwhile others are served.
func TestSlowlorisIsCut(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil, Config{ReadHeaderTimeout: 50 * time.Millisecond})
	c, err := net.Dial("tcp", r.b.ListenAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")); err != nil {
		t.Fatal(err)
	}
	if res := r.do("GET", "/healthz", "", ""); res.status != 200 {
		t.Fatal(res.status)
	}
	_ = c.SetReadDeadline(time.Now().Add(wait.Safety))
	b, err := io.ReadAll(c) // returns once the server hangs up
	if err != nil {
		t.Fatalf("the slow client was not cut off: %v", err)
	}
	if len(b) > 0 && !strings.Contains(string(b), "408") {
		t.Fatalf("answered %q", b)
	}
}

// TestIdleConnectionsDoNotBlockTheQueue: a thousand idle connections,
// and a command is still queued and answered.
func TestIdleConnectionsDoNotBlockTheQueue(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil, Config{})
	var conns []net.Conn
	for range 1000 {
		c, err := net.Dial("tcp", r.b.ListenAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	wait.For(t, "the connections counted", func() bool { return r.b.clients.Load() >= 1000 })
	got := make(chan resp, 1)
	go func() { got <- r.do("POST", "/v1/commands?wait=10s", "text/plain", "<jose><S>$") }()
	r.answer(relay.NewFrame("jose", "S", "1"))
	if res := <-got; res.status != 200 {
		t.Fatalf("%d %s", res.status, res.body)
	}
}
