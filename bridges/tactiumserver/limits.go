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
	// MaxMonitors bounds the connections bound to ADMSOCKET at once
	// (DefaultMaxMonitors when 0): every event is sent to each of them, so
	// their number multiplies the cost of every event. One more is answered
	// <ADMSOCKET><ERR><REJECTED><…>$ and stays an ordinary connection.
	MaxMonitors int
	// FrameRate bounds the frames read from one connection per second,
	// garbage included, with bursts of FrameBurst (DefaultFrameRate, and
	// FrameBurst = FrameRate, when 0): a faster client is read more slowly,
	// so its TCP stream waits in its own kernel buffers.
	FrameRate  int
	FrameBurst int
	// ByteRate bounds the bytes read from one connection per second
	// (DefaultByteRate when 0), with bursts of the larger of ByteRate and
	// two frames: a stream with no frame end costs no more than frames.
	ByteRate int
	// ErrorRate bounds the frames per second the server answers ERR itself
	// on one connection (unreadable, not a command), with bursts of as
	// many (DefaultErrorRate when 0): a client sending garbage is read at
	// that pace, however fast FrameRate would let it go.
	ErrorRate int
	// OutboundBytes bounds the bytes queued for one connection's reader
	// (DefaultOutboundBytes when 0); a reader that lets more pile up is
	// disconnected, as for OutboundQueue.
	OutboundBytes int
	// MaxBufferedBytes bounds the bytes queued for every connection's
	// reader together (DefaultMaxBufferedBytes when 0): over it, a
	// connection holding more than a few replies is disconnected as a slow
	// reader, so clients that never read cannot hold the relay's memory.
	MaxBufferedBytes int64
	// SummaryEvery is how often refused connections, slow readers and
	// other drops are logged, as counts in one line (DefaultSummaryEvery
	// when 0): a flood of them never floods the log.
	SummaryEvery time.Duration
}

// Defaults of Limits.
const (
	DefaultMaxConns      = 1024
	DefaultOutboundQueue = 1024
	DefaultWriteTimeout  = 10 * time.Second
	DefaultMaxLogins     = 64
	DefaultFrameRate     = 500
	DefaultByteRate      = 32 << 10
	DefaultMaxMonitors   = 64
	DefaultErrorRate     = 20
	DefaultOutboundBytes = 256 << 10
	// DefaultMaxBufferedBytes: 5,000 connections at the per-connection
	// floor (16 KiB) stay under 80 MiB besides it.
	DefaultMaxBufferedBytes = 64 << 20
	DefaultSummaryEvery     = 10 * time.Second
)

func (l Limits) withDefaults() (Limits, error) {
	if l.MaxFrameBytes < 0 || l.MaxConns < 0 || l.IdleTimeout < 0 || l.OutboundQueue < 0 || l.WriteTimeout < 0 || l.MaxLogins < 0 ||
		l.FrameRate < 0 || l.FrameBurst < 0 || l.ByteRate < 0 || l.ErrorRate < 0 || l.MaxMonitors < 0 || l.OutboundBytes < 0 || l.MaxBufferedBytes < 0 || l.SummaryEvery < 0 {
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
	if l.FrameRate == 0 {
		l.FrameRate = DefaultFrameRate
	}
	if l.FrameBurst == 0 {
		l.FrameBurst = l.FrameRate
	}
	if l.ByteRate == 0 {
		l.ByteRate = DefaultByteRate
	}
	if l.MaxMonitors == 0 {
		l.MaxMonitors = DefaultMaxMonitors
	}
	if l.ErrorRate == 0 {
		l.ErrorRate = DefaultErrorRate
	}
	if l.OutboundBytes == 0 {
		l.OutboundBytes = DefaultOutboundBytes
	}
	if l.MaxBufferedBytes == 0 {
		l.MaxBufferedBytes = DefaultMaxBufferedBytes
	}
	if l.SummaryEvery == 0 {
		l.SummaryEvery = DefaultSummaryEvery
	}
	return l, nil
}
