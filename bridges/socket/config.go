package socket

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"time"

	"github.com/ctirelay/ctirelay/bridges/tactiumserver"
	"github.com/ctirelay/ctirelay/relay"
)

// DefaultAddr is where the bridge listens by default: loopback, one port
// above Tactium's own 34025, which `ctirelay sim --listen` commonly takes on
// the same machine.
const DefaultAddr = "127.0.0.1:34026"

// Defaults of Config.
const (
	DefaultPollInterval = 50 * time.Millisecond
	DefaultBatch        = 1000
	// Writing to a connection only queues, so the delivery keeps up.
	DefaultBuffer = 1 << 16
)

// Store is what the bridge's own feed needs of the durable queue (REPLAY
// reads the journal through the feed).
type Store = relay.FeedStore

// Config wires a Bridge. Zero values take the defaults.
type Config struct {
	Addr string // host:port to listen on (DefaultAddr when empty)
	// Feed is the process's feed, through which commands are queued and
	// replies and events arrive, and REPLAY reads the journal. When nil the
	// bridge runs its own on Store (with MaxFrame, PollInterval, Batch,
	// Logger and Clock), started and stopped with it.
	Feed *relay.Feed
	// Store is the durable queue of the bridge's own feed; unused with
	// Feed.
	Store Store
	// Node names this relay in the source reference of the commands it
	// enqueues ("<node>/<connection>@<client address>").
	Node string
	// Limits, TLS, AdminSecret and Charset are the socket server's.
	Limits      tactiumserver.Limits
	TLS         *tls.Config
	AdminSecret string
	Charset     relay.Charset
	// MaxFrame is the admission limit of the queue (engine.max_frame_bytes).
	MaxFrame int
	// PollInterval is how often the bridge's own feed reads the journal
	// when nothing wakes it.
	PollInterval time.Duration
	// Batch is how many journal entries one read of its own feed takes, and
	// how many events REPLAY hands a connection at once.
	Batch int
	// Buffer is how many journal entries may wait for the bridge's delivery
	// (DefaultBuffer); beyond it the bridge catches up from the last one it
	// delivered.
	Buffer int
	Logger *slog.Logger
	Clock  relay.Clock
}

func (c *Config) defaults() error {
	if c.Feed == nil && c.Store == nil {
		return errors.New("socket bridge needs a feed or a store")
	}
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.PollInterval <= 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.Batch <= 0 {
		c.Batch = DefaultBatch
	}
	if c.Buffer <= 0 {
		c.Buffer = DefaultBuffer
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Clock == nil {
		c.Clock = relay.SystemClock{}
	}
	return nil
}
