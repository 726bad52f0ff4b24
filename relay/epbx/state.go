package epbx

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// StateStore keeps what the active relay did to its agents (logged on or
// off, paused in which interval) where the relay that takes over finds it:
// the hub forgets an extension whose connection died with its relay, and
// the new relay's driver knew nothing of it. The relay's store
// (relay_cursor) is one.
type StateStore interface {
	CursorsWithPrefix(ctx context.Context, prefix string) ([]relay.Cursor, error)
	AdvanceCursors(ctx context.Context, cursors []relay.Cursor, now time.Time) error
}

// The cursors, one per agent and kind, Position a stamp that grows across
// the relays taking turns (see stamp): the latest of on/off says whether
// the agent is logged on, the latest of ready/pause:<interval> its pause.
// Cursors only move forward, hence one name per state.
const (
	statePrefix = "epbx:"
	stateOn     = statePrefix + "on:"
	stateOff    = statePrefix + "off:"
	stateReady  = statePrefix + "ready:"
	statePause  = statePrefix + "pause:"
)

// stateTimeout bounds the store's read at takeover and each write.
const stateTimeout = 5 * time.Second

// known is one agent's state as the store has it.
type known struct {
	on, off   int64
	ready     int64
	pause, iv int64 // stamp and interval of the latest pause
	loggedOn  bool
	interval  int // the pause's interval, 0 when available
	paused    bool
}

// stampLocked is the next Position: the clock's microseconds, but always
// above every stamp seen (ours and, read at takeover, the previous
// relay's), so a relay whose clock is behind still moves the cursors.
func (d *Driver) stampLocked() int64 {
	d.lastStamp = max(d.cfg.Clock.Now().UnixMicro(), d.lastStamp+1)
	return d.lastStamp
}

// record saves an agent's new state; a failure is logged, not returned:
// the switch did the command, and the next command's answer (Ramal não
// logado) still logs a forgotten agent on again.
func (s *session) record(ctx context.Context, names ...string) {
	st := s.d.cfg.State
	if st == nil {
		return
	}
	s.d.mu.Lock()
	stamp := s.d.stampLocked()
	s.d.mu.Unlock()
	cs := make([]relay.Cursor, len(names))
	key := strings.ToLower(s.login)
	for i, n := range names {
		cs[i] = relay.Cursor{Name: n + key, Position: stamp}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stateTimeout)
	defer cancel()
	if err := st.AdvanceCursors(ctx, cs, s.d.cfg.Clock.Now()); err != nil {
		s.d.log.Warn("epbx agent state not saved: a relay taking over would not log it on again", "agent", s.login, "err", err)
	}
}

// loadState reads every agent's saved state and raises the stamp above
// the previous relay's.
func (d *Driver) loadState(ctx context.Context) (map[string]known, error) {
	ctx, cancel := context.WithTimeout(ctx, stateTimeout)
	defer cancel()
	cs, err := d.cfg.State.CursorsWithPrefix(ctx, statePrefix)
	if err != nil {
		return nil, err
	}
	out := map[string]known{}
	top := int64(0)
	for _, c := range cs {
		top = max(top, c.Position)
		var login string
		k := func() known { return out[login] }
		switch {
		case strings.HasPrefix(c.Name, stateOn):
			login = strings.TrimPrefix(c.Name, stateOn)
			a := k()
			a.on = c.Position
			out[login] = a
		case strings.HasPrefix(c.Name, stateOff):
			login = strings.TrimPrefix(c.Name, stateOff)
			a := k()
			a.off = c.Position
			out[login] = a
		case strings.HasPrefix(c.Name, stateReady):
			login = strings.TrimPrefix(c.Name, stateReady)
			a := k()
			a.ready = c.Position
			out[login] = a
		case strings.HasPrefix(c.Name, statePause):
			// epbx:pause:<interval>:<login>: the login may hold ':'.
			ivs, rest, ok := strings.Cut(strings.TrimPrefix(c.Name, statePause), ":")
			iv, err := strconv.Atoi(ivs)
			if !ok || err != nil {
				continue
			}
			login = rest
			a := k()
			if c.Position > a.pause {
				a.pause, a.iv = c.Position, int64(iv)
			}
			out[login] = a
		}
	}
	for login, a := range out {
		a.loggedOn = a.on > a.off
		if a.loggedOn && a.pause > a.ready && a.pause > a.on {
			a.paused, a.interval = true, int(a.iv)
		}
		out[login] = a
	}
	d.mu.Lock()
	d.lastStamp = max(d.lastStamp, top)
	d.mu.Unlock()
	return out, nil
}

// pauseName is the cursor name prefix of a pause in interval iv.
func pauseName(iv int) string { return statePause + strconv.Itoa(iv) + ":" }

// adopt takes the saved state over what this relay remembered: another
// relay may have been the active one since.
func (s *session) adopt(a known) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loggedOn, s.paused, s.interval = a.loggedOn, a.paused, 0
	if a.paused {
		s.interval = a.interval
	}
}
