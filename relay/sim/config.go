package sim

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// Defaults for the zero values of Config that cannot mean "none".
const (
	DefaultRecordingDir   = `c:\records`
	DefaultFirstExtension = 7001
	DefaultQueueLength    = 10
	DefaultAbandon        = 45 * time.Second
	DefaultRoutingPoint   = "9988"     // the dialer's origin in the Tactium example
	DefaultCampaign       = "Discador" // the campaign name in the Tactium example
	DefaultEventBuffer    = 256

	// maxPerMinute bounds arrival rates so one clock step cannot mean an
	// unbounded amount of work.
	maxPerMinute = 10000
)

// Config shapes the simulated ACD. The zero value is a quiet switch: no
// inbound or dialer traffic, callees answer at once, calls last until D and
// wrap-up lasts until P OFF or POS OFF.
type Config struct {
	// Seed makes a run repeatable: the same seed, commands and clock steps
	// give the same events, byte for byte.
	Seed int64
	// InboundPerMinute is the arrival rate of inbound calls over the whole
	// switch (a Poisson process); 0 means none.
	InboundPerMinute float64
	// DialerPerMinute is the rate at which the automatic dialer connects a
	// customer to an available agent; 0 means no dialer.
	DialerPerMinute float64
	// RingTime is how long a dialled number rings before it answers; 0
	// answers at once.
	RingTime time.Duration
	// TalkTime is how long an answered call lasts before the other side hangs
	// up; 0 keeps calls up until D or L OFF.
	TalkTime time.Duration
	// TalkJitter spreads each call's talk time uniformly over
	// TalkTime×(1±TalkJitter); 0 makes every call exactly TalkTime.
	TalkJitter float64
	// WrapUp is how long wrap-up lasts after a call; 0 keeps the agent in
	// wrap-up until P OFF or POS OFF.
	WrapUp time.Duration
	// ThinkTime delays every reply, as a remote switch would; 0 answers at once.
	ThinkTime time.Duration
	// QueueLength bounds the inbound calls waiting for an agent; further
	// callers get busy. 0 means DefaultQueueLength, negative means no queue.
	QueueLength int
	// Abandon is how long a queued caller waits before hanging up
	// (DefaultAbandon when 0).
	Abandon time.Duration
	// RecordingDir is where recordings are said to be (DefaultRecordingDir);
	// paths are built in Windows style unless it only contains '/'.
	RecordingDir string
	// FirstExtension is the extension of the first agent to log on; the next
	// ones count up from it (DefaultFirstExtension when 0).
	FirstExtension int
	// RoutingPoint is the origin of dialer calls (DefaultRoutingPoint).
	RoutingPoint string
	// Campaign is the dialer's campaign name (DefaultCampaign).
	Campaign string
	// EventBuffer is how many events the Driver lets wait for its sink before
	// the switch holds back (DefaultEventBuffer when 0).
	EventBuffer int

	Clock  relay.Clock
	Logger *slog.Logger
}

// withDefaults validates c and fills in the defaults.
func (c Config) withDefaults() (Config, error) {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	rate := func(name string, v float64) {
		if math.IsNaN(v) || v < 0 || v > maxPerMinute {
			bad("%s must be between 0 and %d, got %v", name, maxPerMinute, v)
		}
	}
	rate("inbound per minute", c.InboundPerMinute)
	rate("dialer per minute", c.DialerPerMinute)
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"ring time", c.RingTime}, {"talk time", c.TalkTime}, {"wrap-up", c.WrapUp}, {"think time", c.ThinkTime}, {"abandon", c.Abandon}} {
		if d.v < 0 {
			bad("%s must not be negative, got %v", d.name, d.v)
		}
	}
	if math.IsNaN(c.TalkJitter) || c.TalkJitter < 0 || c.TalkJitter > 1 {
		bad("talk jitter must be between 0 and 1, got %v", c.TalkJitter)
	}
	if c.FirstExtension < 0 || c.EventBuffer < 0 {
		bad("first extension and event buffer must not be negative")
	}
	// These values travel inside frame fields and the dialer attach info.
	if strings.ContainsAny(c.RecordingDir, "<>") {
		bad("recording dir must not contain '<' or '>'")
	}
	if strings.ContainsAny(c.RoutingPoint, "<>") {
		bad("routing point must not contain '<' or '>'")
	}
	if strings.ContainsAny(c.Campaign, "<>;=") {
		bad("campaign must not contain '<', '>', ';' or '='")
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("sim config: %w", errors.Join(errs...))
	}
	if c.QueueLength == 0 {
		c.QueueLength = DefaultQueueLength
	}
	if c.QueueLength < 0 {
		c.QueueLength = 0
	}
	if c.Abandon == 0 {
		c.Abandon = DefaultAbandon
	}
	if c.RecordingDir == "" {
		c.RecordingDir = DefaultRecordingDir
	}
	if c.FirstExtension == 0 {
		c.FirstExtension = DefaultFirstExtension
	}
	if c.RoutingPoint == "" {
		c.RoutingPoint = DefaultRoutingPoint
	}
	if c.Campaign == "" {
		c.Campaign = DefaultCampaign
	}
	if c.EventBuffer == 0 {
		c.EventBuffer = DefaultEventBuffer
	}
	if c.Clock == nil {
		c.Clock = relay.SystemClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}
