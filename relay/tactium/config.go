package tactium

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// DefaultPort is Socket.ServerPort's default in the Tactium document.
const DefaultPort = "34025"

// Defaults for the zero values of Config.
const (
	DefaultDialTimeout  = 5 * time.Second
	DefaultWriteTimeout = 5 * time.Second
	DefaultReplyTimeout = 10 * time.Second
	DefaultIdleClose    = 5 * time.Minute
)

// Config configures the driver.
type Config struct {
	// Addr is the Integration socket: host or host:port (DefaultPort when
	// the port is omitted).
	Addr string
	// AdminSecret, when set, is sent as <ADMSOCKET><L><ON><secret>$ to a
	// server that guards the monitoring login (ctirelay's own server does).
	AdminSecret string
	// Charset of the bytes on the socket (UTF-8 by default).
	Charset relay.Charset
	// TLS, when set, wraps every connection in TLS.
	TLS *tls.Config
	// DialTimeout and WriteTimeout bound network operations; they are
	// wall-clock deadlines because the kernel enforces them.
	DialTimeout  time.Duration
	WriteTimeout time.Duration
	// ReplyTimeout is how long a command waits for its answer, on Clock.
	// A command that times out is in doubt (see ErrInDoubt).
	ReplyTimeout time.Duration
	// IdleClose closes a login's command connection once unused this long,
	// so the connection count follows the agents actually at work.
	IdleClose time.Duration
	// Backoff spaces reconnection attempts while the server is unreachable.
	Backoff relay.Backoff
	// MaxFrameBytes bounds one frame read (relay.DefaultMaxFrame when 0).
	MaxFrameBytes int
	// Monitor, when set, admits the monitoring connection: the driver opens
	// it only while it holds the gate, and hangs up when the gate is lost.
	// Relays sharing one switch pass a relay.LockGate on relay.LockMonitor
	// so that exactly one of them hears (and journals) each event. Nil: this
	// driver always listens.
	Monitor relay.Gate

	Clock  relay.Clock
	Logger *slog.Logger
}

// withDefaults validates c and fills in the defaults.
func (c Config) withDefaults() (Config, error) {
	addr, err := normaliseAddr(c.Addr)
	if err != nil {
		return c, fmt.Errorf("tactium config: %w", err)
	}
	c.Addr = addr
	if strings.ContainsAny(c.AdminSecret, "<>$") {
		return c, errors.New("tactium config: admin secret must not contain '<', '>' or '$'")
	}
	if c.DialTimeout < 0 || c.WriteTimeout < 0 || c.ReplyTimeout < 0 || c.IdleClose < 0 {
		return c, errors.New("tactium config: timeouts must not be negative")
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.ReplyTimeout == 0 {
		c.ReplyTimeout = DefaultReplyTimeout
	}
	if c.IdleClose == 0 {
		c.IdleClose = DefaultIdleClose
	}
	if c.Backoff.Base == 0 {
		c.Backoff.Base = 500 * time.Millisecond
	}
	if c.Backoff.Max == 0 {
		c.Backoff.Max = 30 * time.Second
	}
	if c.MaxFrameBytes <= 0 {
		c.MaxFrameBytes = relay.DefaultMaxFrame
	}
	if c.Clock == nil {
		c.Clock = relay.SystemClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// normaliseAddr adds the default port to a bare host.
func normaliseAddr(addr string) (string, error) {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		return "", errors.New("address is empty")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		host, port = strings.Trim(addr, "[]"), DefaultPort
	}
	if host == "" {
		return "", fmt.Errorf("address %q has no host", addr)
	}
	if port == "" {
		port = DefaultPort
	}
	return net.JoinHostPort(host, port), nil
}
