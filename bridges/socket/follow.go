package socket

import (
	"context"
	"strings"
	"time"

	"github.com/ctirelay/ctirelay/bridges/tactiumserver"
	"github.com/ctirelay/ctirelay/relay"
)

// followed are the journal entries the bridge reads: replies for its
// waiting commands and events for its connections.
var followed = []string{relay.KindReply, relay.KindEvent}

// follow reads the journal until ctx ends: one reader for every connection.
func (b *Bridge) follow(ctx context.Context) {
	defer close(b.loopDone)
	failures := 0
	for {
		full, err := b.poll(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			failures++
			b.log.Warn("socket bridge: read journal", "err", err, "failures", failures)
		default:
			failures = 0
		}
		if full {
			continue
		}
		wait := b.cfg.PollInterval
		if failures > 0 {
			// ride out a database restart without spinning
			wait = min(wait<<min(failures, 6), 5*time.Second)
		}
		select {
		case <-ctx.Done():
			return
		case <-b.cfg.Clock.After(wait):
		}
	}
}

// poll reads one batch after the last position and hands each entry on, in
// journal order: a command's reply before the events it caused. full says
// more may be waiting.
func (b *Bridge) poll(ctx context.Context) (full bool, err error) {
	b.fmu.Lock()
	after := b.pos
	b.fmu.Unlock()
	entries, err := b.cfg.Store.JournalSince(ctx, after, followed, b.cfg.Batch)
	if err != nil {
		return false, err
	}
	full = len(entries) >= b.cfg.Batch
	b.fmu.Lock()
	sessions := b.srv.Sessions()
	b.prune(sessions)
	for _, e := range entries {
		if b.open != nil && (e.Kind != relay.KindReply || e.InboxID != b.open.id) {
			b.complete(b.open)
			b.open = nil
		}
		switch e.Kind {
		case relay.KindReply:
			b.reply(e)
		case relay.KindEvent:
			b.fanout(ctx, e, sessions)
		}
		b.pos = e.ID
	}
	// A batch cut short holds every row committed so far, so the last
	// command's replies are complete; a full one may continue in the next.
	if !full && b.open != nil {
		b.complete(b.open)
		b.open = nil
	}
	b.fmu.Unlock()
	b.saveCursors(ctx)
	return full, nil
}

// reply writes a reply on the connection whose command it answers, if it
// is one of this bridge's.
func (b *Bridge) reply(e relay.JournalEntry) {
	if e.InboxID == 0 {
		return
	}
	w := b.waiterFor(e.InboxID)
	if w == nil {
		return
	}
	f, err := relay.Parse(e.Frame)
	if err != nil {
		b.log.Error("socket bridge: unreadable reply in the journal", "journal_id", e.ID, "err", err)
		return
	}
	w.session.Send(f)
	b.open = w
}

// fanout sends an event to every connection bound to its agent and to
// every ADMSOCKET connection, recording what each has been handed.
func (b *Bridge) fanout(ctx context.Context, e relay.JournalEntry, sessions []*tactiumserver.Session) {
	var f relay.Frame
	key := strings.ToLower(e.Agent)
	for _, x := range sessions {
		agent := key != "" && x.BoundTo(key)
		admin := x.Admin()
		if !agent && !admin {
			continue
		}
		if f == nil {
			var err error
			if f, err = relay.Parse(e.Frame); err != nil {
				b.log.Error("socket bridge: unreadable event in the journal", "journal_id", e.ID, "err", err)
				return
			}
		}
		st := b.state(x)
		if agent {
			b.live(ctx, st, key)
			b.markDelivered(ctx, key, e.ID)
		}
		if admin {
			b.live(ctx, st, adminKey)
			b.markDelivered(ctx, adminKey, e.ID)
		}
		st.deliver(x, f)
	}
}
