package tactiumserver

import (
	"errors"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// Limits protect the server from clients; the zero value takes the defaults.
type Limits struct {
	// MaxFrameBytes bounds one inbound frame; a longer one is answered
	// ERR TOO_LARGE and skipped (relay.DefaultMaxFrame when 0).
	MaxFrameBytes int
	// MaxConns bounds open connections; one more is sent an ERR line and
	// closed (DefaultMaxConns when 0).
	MaxConns int
	// IdleTimeout closes a connection with no traffic either way for this
	// long, on the server's clock; 0 keeps idle connections.
	IdleTimeout time.Duration
	// OutboundQueue is how many frames may wait for a connection's reader;
	// a reader that lets it fill is disconnected (DefaultOutboundQueue when 0).
	OutboundQueue int
	// WriteTimeout bounds one write to a client; a wall-clock deadline
	// because the kernel enforces it (DefaultWriteTimeout when 0).
	WriteTimeout time.Duration
	// MaxLogins bounds the agents one connection may bind to
	// (DefaultMaxLogins when 0).
	MaxLogins int
}

// Defaults of Limits.
const (
	DefaultMaxConns      = 1024
	DefaultOutboundQueue = 1024
	DefaultWriteTimeout  = 10 * time.Second
	DefaultMaxLogins     = 64
)

func (l Limits) withDefaults() (Limits, error) {
	if l.MaxFrameBytes < 0 || l.MaxConns < 0 || l.IdleTimeout < 0 || l.OutboundQueue < 0 || l.WriteTimeout < 0 || l.MaxLogins < 0 {
		return l, errors.New("limits must not be negative")
	}
	if l.MaxFrameBytes == 0 {
		l.MaxFrameBytes = relay.DefaultMaxFrame
	}
	if l.MaxConns == 0 {
		l.MaxConns = DefaultMaxConns
	}
	if l.OutboundQueue == 0 {
		l.OutboundQueue = DefaultOutboundQueue
	}
	if l.WriteTimeout == 0 {
		l.WriteTimeout = DefaultWriteTimeout
	}
	if l.MaxLogins == 0 {
		l.MaxLogins = DefaultMaxLogins
	}
	return l, nil
}
