package crm

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"github.com/ctirelay/ctirelay/relay"
)

// Pops gives every incoming call of the mapped agents its screen-pop
// decision, whichever pop consumers (Divalto, Senior) are configured or
// how far behind they are: with Rules.Shared, the decision is made once
// and a call that pops is noted (WhatPop), so SSE clients and webhooks
// that ask for pops (kind pop) see it; a suppressed one is noted as ever.
type Pops struct {
	Feed    Subscriber
	Agents  map[string]string // login → extension
	Rules   Rules             // Rules.Shared must be set: it holds the journal
	Journal Journal           // when Rules.Shared has none
	Logger  *slog.Logger

	life  relay.StartStop
	ext   map[string]string // lower-case login → extension
	track *tracker
}

// Start subscribes to the feed; Stop ends it. Both are safe twice.
func (p *Pops) Start(ctx context.Context) error { return p.life.Start(ctx, p.start) }

// Stop stops following the feed.
func (p *Pops) Stop() { p.life.Stop() }

func (p *Pops) start(ctx context.Context) (func(), error) {
	if p.Feed == nil || p.Rules.Shared == nil {
		return nil, errors.New("screen pops need the feed and shared decisions")
	}
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	p.ext, p.track = map[string]string{}, newTracker()
	agents := make([]string, 0, len(p.Agents))
	for l, ext := range p.Agents {
		p.ext[strings.ToLower(strings.TrimSpace(l))] = ext
		agents = append(agents, l)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	filter := relay.Filter{Kinds: []string{relay.KindEvent}, Agents: agents}
	apply := func(dl relay.Delivery) { p.apply(runCtx, dl.Entry) }
	sub, err := p.Feed.Subscribe("", filter, apply)
	if err != nil {
		cancel()
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-runCtx.Done():
				sub.Close()
				return
			case <-sub.Done():
			}
			if !errors.Is(sub.Err(), relay.ErrLagged) {
				return
			}
			p.Logger.Warn("feed subscriber lagged; resuming")
			if sub, err = p.Feed.Subscribe("", filter, apply, relay.After(sub.Position())); err != nil {
				p.Logger.Error("subscribe again", "err", err)
				return
			}
		}
	}()
	return func() { cancel(); <-done }, nil
}

// apply decides each ring of a mapped agent (once: Rules.Shared).
func (p *Pops) apply(ctx context.Context, e relay.JournalEntry) {
	what, login, c, busy := p.track.apply(e)
	if c == nil || what != evRing {
		return
	}
	if ext := p.ext[strings.ToLower(login)]; ext != "" {
		c.pop = p.Rules.decide(ctx, p.Journal, e.ID, login, ext, c.caller, busy)
	}
}
