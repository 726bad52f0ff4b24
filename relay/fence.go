package relay

import (
	"context"
	"log/slog"
	"strings"
	"time"
)

// eventFence keeps the reply-first rule across relays. eventOrder keeps it
// for this relay's own commands; but with several relays on one switch only
// one of them hears the events (LockMonitor), and the command that caused an
// event may be at another relay, which journals its reply. So before the
// writer publishes an agent's event it asks the store which commands of the
// agent other relays had at the switch when the event arrived, and holds the
// event until none of those is still in flight. A command leased after the
// event arrived cannot have caused it and is not waited for (otherwise a busy
// agent's events would wait for ever), and no event waits longer than bound:
// the other relay gives up on the command by then (the exec timeout), or has
// died and its command will be answered IN_DOUBT.
type eventFence struct {
	probe inFlighter // nil: publish at once
	owner string
	bound time.Duration
	log   *slog.Logger

	held []heldEvent // in arrival order
}

// inFlighter is Queue.InFlight.
type inFlighter interface {
	InFlight(ctx context.Context, agents []string, owner string) ([]Lease, error)
}

type heldEvent struct {
	f     Frame
	key   string // orderKey of its login
	since time.Time
	waits map[leaseID]bool // nil until the first probe after it arrived
}

type leaseID struct {
	id       int64
	attempts int
}

// holding reports events waiting for another relay's reply.
func (fc *eventFence) holding() bool { return len(fc.held) > 0 }

// admit takes the events of a batch and returns those that may be published
// now, in arrival order; the rest are kept for a later call. One probe of
// the store per call, for the logins of every event at hand.
func (fc *eventFence) admit(ctx context.Context, events []Frame, now time.Time) []Frame {
	if fc.probe == nil {
		return events
	}
	for _, f := range events {
		fc.held = append(fc.held, heldEvent{f: f, key: orderKey(f.Login()), since: now})
	}
	if len(fc.held) == 0 {
		return nil
	}
	seen := map[string]bool{}
	var logins []string
	for _, h := range fc.held {
		if !seen[h.key] && strings.TrimSpace(h.key) != "" {
			seen[h.key] = true
			logins = append(logins, h.f.Login())
		}
	}
	running := map[string]map[leaseID]bool{}
	var probeErr error
	if len(logins) > 0 {
		leases, err := fc.probe.InFlight(ctx, logins, fc.owner)
		probeErr = err
		for _, l := range leases {
			k := orderKey(l.Agent)
			if running[k] == nil {
				running[k] = map[leaseID]bool{}
			}
			running[k][leaseID{l.ID, l.Attempts}] = true
		}
	}
	if probeErr != nil {
		fc.log.Warn("events held: cannot see other relays' commands", "err", probeErr, "held", len(fc.held))
	}
	var ready []Frame
	blocked := map[string]bool{} // an earlier event of the login is held
	kept := fc.held[:0]
	for _, h := range fc.held {
		if probeErr == nil {
			if h.waits == nil {
				// what was in flight now was in flight when it arrived, or
				// came later: waiting for the latter only costs time
				h.waits = map[leaseID]bool{}
				for id := range running[h.key] {
					h.waits[id] = true
				}
			} else {
				for id := range h.waits {
					if !running[h.key][id] {
						delete(h.waits, id)
					}
				}
			}
		}
		waiting := h.waits == nil || len(h.waits) > 0
		if waiting && now.Sub(h.since) >= fc.bound {
			fc.log.Warn("event published before a reply it may follow: another relay's command did not finish in time",
				"frame", h.f.String(), "waited", now.Sub(h.since))
			waiting = false
		}
		if waiting || blocked[h.key] {
			blocked[h.key] = true
			kept = append(kept, h)
			continue
		}
		ready = append(ready, h.f)
	}
	clear(fc.held[len(kept):])
	fc.held = kept
	return ready
}

// release returns every held event, when the relay stops: published late
// rather than lost.
func (fc *eventFence) release() []Frame {
	out := make([]Frame, 0, len(fc.held))
	for _, h := range fc.held {
		out = append(out, h.f)
	}
	if len(out) > 0 {
		fc.log.Warn("stopping: events published without waiting for other relays' replies", "events", len(out))
	}
	fc.held = nil
	return out
}
