// Package tactiumtest is the test client of Tactium-compatible sockets (the
// server core, the socket bridge, the relay binary): it writes frames and
// checks the bytes that come back exactly.
package tactiumtest

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// Safety bounds how long a read waits for the other side; nothing asserts
// speed.
const Safety = 10 * time.Second

// Client is one connection to a Tactium-compatible socket.
type Client struct {
	t       testing.TB
	nc      net.Conn
	r       *bufio.Reader
	timeout time.Duration
}

// Dial connects to addr; the connection is closed when the test ends.
func Dial(t testing.TB, addr string) *Client {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, Safety)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	return newClient(t, nc)
}

// DialTLS connects to addr with TLS.
func DialTLS(t testing.TB, addr string, cfg *tls.Config) *Client {
	t.Helper()
	nc, err := tls.DialWithDialer(&net.Dialer{Timeout: Safety}, "tcp", addr, cfg)
	if err != nil {
		t.Fatalf("dial tls: %v", err)
	}
	return newClient(t, nc)
}

func newClient(t testing.TB, nc net.Conn) *Client {
	t.Cleanup(func() { nc.Close() })
	return &Client{t: t, nc: nc, r: bufio.NewReader(nc), timeout: Safety}
}

// Patient makes reads wait up to d (a switch or relay process may be
// restarting meanwhile). It returns c.
func (c *Client) Patient(d time.Duration) *Client {
	c.timeout = d
	return c
}

// Conn is the connection, for what the helpers do not cover.
func (c *Client) Conn() net.Conn { return c.nc }

// Close closes the client's side.
func (c *Client) Close() { c.nc.Close() }

// Send writes s as it is.
func (c *Client) Send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.nc, s); err != nil {
		c.t.Fatalf("write %q: %v", s, err)
	}
}

// Expect reads exactly len(want) bytes and compares them.
func (c *Client) Expect(want string) {
	c.t.Helper()
	_ = c.nc.SetReadDeadline(time.Now().Add(c.timeout))
	got := make([]byte, len(want))
	n, err := io.ReadFull(c.r, got)
	if err != nil || string(got) != want {
		c.t.Fatalf("read %q (err %v), want %q", got[:n], err, want)
	}
}

// RoundTrip sends a frame and expects the exact answer.
func (c *Client) RoundTrip(send, want string) {
	c.t.Helper()
	c.Send(send)
	c.Expect(want)
}

// Frames reads the next n frames, as the bytes that carried them.
func (c *Client) Frames(n int) []string {
	c.t.Helper()
	_ = c.nc.SetReadDeadline(time.Now().Add(c.timeout))
	out := make([]string, 0, n)
	for len(out) < n {
		f, err := c.frame()
		if err != nil {
			c.t.Fatalf("read %q, then %v", out, err)
		}
		out = append(out, f)
	}
	return out
}

// ExpectClosed reads until the other side closes the connection and returns
// the frames that came first (a trailing partial frame included as it is).
func (c *Client) ExpectClosed() []string {
	c.t.Helper()
	_ = c.nc.SetReadDeadline(time.Now().Add(c.timeout))
	var out []string
	for {
		f, err := c.frame()
		if f != "" {
			out = append(out, f)
		}
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			c.t.Fatalf("connection not closed by the other side: %v (read %q)", err, out)
		}
	}
}

// frame reads one frame: from its '<' to the first ">$" (a field cannot
// hold '>'), skipping whitespace before it.
func (c *Client) frame() (string, error) {
	var b strings.Builder
	for {
		ch, err := c.r.ReadByte()
		if err != nil {
			return b.String(), err
		}
		if b.Len() == 0 && (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') {
			continue
		}
		b.WriteByte(ch)
		if s := b.String(); ch == '$' && strings.HasSuffix(s, ">$") {
			return s, nil
		}
	}
}
