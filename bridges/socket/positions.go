package socket

import (
	"context"
	"maps"

	"github.com/ctirelay/ctirelay/bridges/tactiumserver"
	"github.com/ctirelay/ctirelay/relay"
)

// What each login has been handed, durably: the position of the last event
// given to a connection bound to it (to an ADMSOCKET connection for the
// monitoring key), saved in relay_cursor as socket:<login> and
// socket:ADMSOCKET, kept and saved in batches by the feed. Everything here
// is guarded by Bridge.fmu.

// adminKey is the position of the monitoring connections. No agent can
// have it: the server keeps the ADMSOCKET login for monitoring.
const adminKey = "admsocket"

// CursorName is the relay_cursor row of a lower-case login (or of
// ADMSOCKET).
func CursorName(key string) string {
	if key == adminKey {
		return "socket:" + relay.AdminLogin
	}
	return "socket:" + key
}

// state is what the bridge knows of one connection.
type state struct {
	// gaps are, per key, the events the connection missed: those after
	// the login's position up to the journal id before the first event
	// the connection received live. Fixed when that first event arrives
	// (or at REPLAY), so a replay never repeats what came live.
	gaps map[string]gap
	// While a replay is being written, live events wait here so the
	// client reads them in journal order after the replayed ones.
	holding bool
	held    []relay.Frame
}

type gap struct{ from, to int64 }

// maxHeld bounds the live events kept for a connection during a replay; a
// client that falls this far behind is disconnected, as a slow reader is.
const maxHeld = 8192

func (st *state) deliver(x *tactiumserver.Session, f relay.Frame) {
	if !st.holding {
		x.Send(f)
		return
	}
	st.held = append(st.held, f)
	if len(st.held) > maxHeld {
		x.Close()
		st.held = nil
	}
}

func (b *Bridge) state(x *tactiumserver.Session) *state {
	st := b.states[x]
	if st == nil {
		st = &state{gaps: map[string]gap{}}
		b.states[x] = st
	}
	return st
}

// prune forgets closed connections.
func (b *Bridge) prune(open []*tactiumserver.Session) {
	if len(b.states) == 0 {
		return
	}
	alive := make(map[*tactiumserver.Session]bool, len(open))
	for _, x := range open {
		alive[x] = true
	}
	maps.DeleteFunc(b.states, func(x *tactiumserver.Session, _ *state) bool { return !alive[x] })
}

// live fixes the connection's gap for key, if not yet fixed: it is about
// to receive key's events live, from after b.pos.
func (b *Bridge) live(ctx context.Context, st *state, key string) gap {
	g, ok := st.gaps[key]
	if !ok {
		g = gap{from: b.deliveredPos(ctx, key), to: b.pos}
		st.gaps[key] = g
	}
	return g
}

// deliveredPos is key's position, as the feed keeps it (read from
// relay_cursor the first time). A login never served before has missed
// nothing older than this start.
func (b *Bridge) deliveredPos(ctx context.Context, key string) int64 {
	p, found, err := b.feed.Saved(ctx, CursorName(key))
	switch {
	case err != nil:
		b.log.Warn("read cursor; counting from this start", "cursor", CursorName(key), "err", err)
		return b.start
	case !found:
		return b.start
	}
	return p
}

// markDelivered moves key's position forward to id; the feed saves it with
// its next batch.
func (b *Bridge) markDelivered(key string, id int64) {
	b.feed.Mark(CursorName(key), id)
}
