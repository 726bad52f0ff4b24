package socket

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/ctirelay/ctirelay/bridges/tactiumserver"
	"github.com/ctirelay/ctirelay/relay"
)

// VerbReplay is the bridge's extension verb (not in the Tactium document):
// <login><REPLAY>$ sends the events the login missed, then
// <login><REPLAY><count>$; <login><REPLAY><journal id>$ replays from after
// that journal id instead. <ADMSOCKET><REPLAY>$ does the same for a
// monitoring connection, with every agent's events.
const VerbReplay = "REPLAY"

var replayKinds = []string{relay.KindEvent}

// replay answers REPLAY on x. It binds an agent's connection like S does,
// fixes what the connection missed, writes it at the client's pace while
// live events wait, then the count, then the live events that waited.
func (b *Bridge) replay(ctx context.Context, x *tactiumserver.Session, f relay.Frame) ([]relay.Frame, bool, error) {
	login := strings.TrimSpace(f.Login())
	admin := strings.EqualFold(login, relay.AdminLogin)
	key := strings.ToLower(login)
	if admin {
		key = adminKey
	}
	switch {
	case login == "":
		return nil, true, relay.Errorf(relay.CodeMalformed, "the first field (agent login) is empty")
	case len(f.Args()) > 1:
		return nil, true, relay.Errorf(relay.CodeBadArgs, "REPLAY: expected nothing or <journal id>")
	case admin && !x.Admin():
		return nil, true, relay.Errorf(tactiumserver.CodeUnauthorized, "log on first: <"+relay.AdminLogin+"><L><ON>$")
	}
	since := int64(-1)
	if len(f.Args()) == 1 {
		n, err := strconv.ParseInt(strings.TrimSpace(f.Arg(0)), 10, 64)
		if err != nil || n < 0 {
			return nil, true, relay.Errorf(relay.CodeBadArgs, "REPLAY: %q is not a journal id", f.Arg(0))
		}
		since = n
	}

	b.fmu.Lock()
	if !admin && !x.Bind(login) {
		b.fmu.Unlock()
		return nil, true, relay.Errorf(relay.CodeRejected, "the connection is bound to too many agents")
	}
	st := b.state(x)
	g := b.live(ctx, st, key)
	from, to := g.from, g.to
	if since >= 0 {
		from = since
	}
	// Replayed once: a second REPLAY has nothing new unless it names a
	// journal id.
	st.gaps[key] = gap{from: to, to: to}
	st.holding = true
	b.fmu.Unlock()

	n, reached, err := b.replayRange(ctx, x, key, from, to)
	switch {
	case err == nil:
		err = x.Deliver(ctx, relay.Frame{f.Login(), VerbReplay, strconv.Itoa(n)})
	case ctx.Err() == nil && !errors.Is(err, tactiumserver.ErrSessionClosed):
		b.log.Error("replay", "err", err, "login", login)
		b.fmu.Lock()
		st.gaps[key] = gap{from: reached, to: to} // the rest is for the next REPLAY
		b.fmu.Unlock()
		err = x.Deliver(ctx, relay.ErrReply(f.Login(), relay.CodeRejected, "replay failed after "+strconv.Itoa(n)+" events; send REPLAY again"))
	}
	b.catchUp(ctx, x, st, err == nil)
	return nil, true, tactiumserver.ErrAnswered
}

// catchUp writes the live events that waited during a replay, at the
// client's pace, until none are left; then live events flow again.
func (b *Bridge) catchUp(ctx context.Context, x *tactiumserver.Session, st *state, ok bool) {
	for {
		b.fmu.Lock()
		held := st.held
		st.held = nil
		if len(held) == 0 || !ok {
			st.holding = false
			b.fmu.Unlock()
			return
		}
		b.fmu.Unlock()
		ok = x.Deliver(ctx, held...) == nil
	}
}

// replayRange writes key's events with ids in (from, to] to x at the
// client's pace. It returns how many, and the journal id up to which they
// were written. It reads through the feed's bounded Read, going on from the
// next it answers: a page of another agent's events holds none of key's yet
// moves the replay on.
func (b *Bridge) replayRange(ctx context.Context, x *tactiumserver.Session, key string, from, to int64) (int, int64, error) {
	filter := relay.Filter{Kinds: replayKinds}
	if key != adminKey {
		filter.Agents = []string{key}
	}
	n, reached := 0, from
	for reached < to {
		entries, next, err := b.feed.Read(ctx, reached, filter, b.cfg.Batch)
		if err != nil {
			return n, reached, err
		}
		if next <= reached {
			// The feed has read nothing past reached: nothing is left
			// before to.
			return n, reached, nil
		}
		var frames []relay.Frame
		var last int64
		for _, e := range entries {
			if e.ID > to {
				break
			}
			f, err := relay.Parse(e.Frame)
			if err != nil {
				b.log.Error("unreadable event in the journal", "journal_id", e.ID, "err", err)
				continue
			}
			frames = append(frames, f)
			last = e.ID
		}
		if len(frames) > 0 {
			if err := x.Deliver(ctx, frames...); err != nil {
				return n, reached, err
			}
			n += len(frames)
			b.fmu.Lock()
			b.markDelivered(key, last)
			b.fmu.Unlock()
		}
		reached = min(next, to)
	}
	return n, reached, nil
}
