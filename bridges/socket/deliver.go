package socket

import (
	"strings"

	"github.com/ctirelay/ctirelay/bridges/tactiumserver"
	"github.com/ctirelay/ctirelay/relay"
)

// deliver is the bridge's subscription: the replies to its commands, on the
// connection that sent each, and events for its connections, in journal
// order (a command's reply before the events it caused).
func (b *Bridge) deliver(d relay.Delivery) {
	b.fmu.Lock()
	defer b.fmu.Unlock()
	e := d.Entry
	switch {
	case d.Pending != nil:
		if x, ok := d.Pending.Tag().(*tactiumserver.Session); ok {
			b.send(x, e)
		}
	case e.Kind == relay.KindEvent:
		sessions := b.srv.Sessions()
		if len(b.states) > len(sessions) {
			b.prune(sessions)
		}
		b.fanout(e, sessions)
	}
	b.pos = e.ID
}

// send writes a reply on x.
func (b *Bridge) send(x *tactiumserver.Session, e relay.JournalEntry) {
	f, err := relay.Parse(e.Frame)
	if err != nil {
		b.log.Error("unreadable reply in the journal", "journal_id", e.ID, "err", err)
		return
	}
	x.Send(f)
}

// fanout sends an event to every connection bound to its agent and to
// every ADMSOCKET connection, recording what each has been handed.
func (b *Bridge) fanout(e relay.JournalEntry, sessions []*tactiumserver.Session) {
	var f relay.Frame
	key := strings.ToLower(strings.TrimSpace(e.Agent)) // as REPLAY matches (relay.Filter)
	for _, x := range sessions {
		agent := key != "" && x.BoundTo(key)
		admin := x.Admin()
		if !agent && !admin {
			continue
		}
		if f == nil {
			var err error
			if f, err = relay.Parse(e.Frame); err != nil {
				b.log.Error("unreadable event in the journal", "journal_id", e.ID, "err", err)
				return
			}
		}
		st := b.state(x)
		if agent {
			b.live(b.ctx, st, key)
			b.markDelivered(key, e.ID)
		}
		if admin {
			b.live(b.ctx, st, adminKey)
			b.markDelivered(adminKey, e.ID)
		}
		st.deliver(x, f)
	}
}
