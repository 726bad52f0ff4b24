package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// HeartbeatConfig wires a Heartbeat. Zero values take the documented defaults.
type HeartbeatConfig struct {
	Registry Nodes
	// Node is this relay's row; a zero StartedAt becomes the clock's time at Start.
	Node  Node
	Every time.Duration // between refreshes (10s)
	// Holds, when set, is asked at each refresh for the named locks this
	// relay holds (Node.Holds), so status shows the leader.
	Holds func() []string
	// Refresh, when set, asks for a refresh at once (the locks held
	// changed), so status shows a new leader without waiting for Every.
	Refresh <-chan struct{}
	Clock   Clock
	Logger  *slog.Logger
}

// Heartbeat keeps this relay's row in relay_node: registered at Start,
// refreshed every Every, removed at Stop. A row whose heartbeat stops moving
// belongs to a relay that died without leaving.
type Heartbeat struct {
	cfg  HeartbeatConfig
	log  *slog.Logger
	life StartStop
}

// NewHeartbeat validates the configuration.
func NewHeartbeat(cfg HeartbeatConfig) (*Heartbeat, error) {
	if cfg.Registry == nil {
		return nil, errors.New("heartbeat needs a node registry")
	}
	if cfg.Node.ID == "" {
		return nil, errors.New("heartbeat needs a node id")
	}
	if cfg.Every <= 0 {
		cfg.Every = 10 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Heartbeat{cfg: cfg, log: cfg.Logger.With("node", cfg.Node.ID)}, nil
}

// Start registers the node, so it is listed as soon as Start returns, and
// starts refreshing it. A failed registration is returned and nothing runs.
// The refreshes go on until Stop or the end of ctx (StartStop's contract).
func (h *Heartbeat) Start(ctx context.Context) error { return h.life.Start(ctx, h.start) }

// Stop ends the refreshes and removes the node's row. Safe to call more than
// once and from several goroutines: every call returns once the row is gone.
// After Stop, Start returns ErrStopped.
func (h *Heartbeat) Stop() { h.life.Stop() }

// Stopped is closed once the heartbeat has stopped and left relay_node.
func (h *Heartbeat) Stopped() <-chan struct{} { return h.life.Stopped() }

func (h *Heartbeat) start(ctx context.Context) (func(), error) {
	if h.cfg.Node.StartedAt.IsZero() {
		h.cfg.Node.StartedAt = h.cfg.Clock.Now()
	}
	if err := h.cfg.Registry.Heartbeat(ctx, h.node(), h.cfg.Clock.Now()); err != nil {
		return nil, fmt.Errorf("register node: %w", err)
	}
	loopCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() { defer close(done); h.loop(loopCtx) }()
	return func() {
		cancel()
		<-done
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := h.cfg.Registry.Leave(ctx, h.cfg.Node.ID); err != nil {
			h.log.Warn("leave relay_node", "err", err)
		}
	}, nil
}

func (h *Heartbeat) loop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.cfg.Clock.After(h.cfg.Every):
		case <-h.cfg.Refresh:
		}
		// A missed refresh is only logged: the next one may succeed, and the
		// relay's work does not depend on it.
		if err := h.cfg.Registry.Heartbeat(ctx, h.node(), h.cfg.Clock.Now()); err != nil && ctx.Err() == nil {
			h.log.Warn("node heartbeat", "err", err)
		}
	}
}

func (h *Heartbeat) node() Node {
	n := h.cfg.Node
	if h.cfg.Holds != nil {
		n.Holds = h.cfg.Holds()
	}
	return n
}
