package spool

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// The bridge's counters and the users waiting for an answer live in the
// relay process; `ctirelay status` runs as another process and reads the
// database. So the serving bridge saves a summary in relay_cursor every
// SummaryInterval (and when it stops), with positions that only move
// forward, as relay_cursor wants:
//
//	file:stat:<counter>  a running total since the spool was first served
//	file:wait:<user>     when (unix ms) the oldest answer waiting began
//	                     (once it has waited SummaryInterval)
//	file:idle:<user>     when (unix ms) the user had nothing more waiting
//	file:stuck:<user>    when (unix ms) rename_attempts last ran out
//	file:wrote:<user>    when (unix ms) an answer was last renamed after that
//
// A user is waiting when wait > idle, stuck when stuck > wrote.
const (
	statPrefix  = "file:stat:"
	waitPrefix  = "file:wait:"
	idlePrefix  = "file:idle:"
	stuckPrefix = "file:stuck:"
	wrotePrefix = "file:wrote:"
)

// DefaultSummaryInterval is how often the serving bridge saves its summary.
const DefaultSummaryInterval = time.Second

// statNames are the saved counters, in Stats' order.
var statNames = []string{"taken", "refused", "purged", "ignored", "answers", "frames", "rename_retries", "rename_failures"}

func (c *counters) values() []int64 {
	return []int64{c.taken.Load(), c.dead.Load(), c.purged.Load(), c.ignored.Load(), c.answers.Load(), c.frames.Load(),
		c.renameRetries.Load(), c.renameFailures.Load()}
}

// saved is what the summary in relay_cursor said at the last save (or at
// load), so a save writes only what changed and never a smaller position.
type saved struct {
	base    []int64 // totals at load
	atLoad  []int64 // this process's counters then
	totals  []int64 // last saved
	lastRun time.Time
}

// savedUser is one user's summary positions, unix ms.
type savedUser struct{ wait, idle, stuck, wrote int64 }

// loadSummaryLocked reads the saved summary; mu held.
func (b *Bridge) loadSummaryLocked(cs []relay.Cursor) {
	s := &b.summary
	s.base = make([]int64, len(statNames))
	for _, c := range cs {
		if i := slices.Index(statNames, strings.TrimPrefix(c.Name, statPrefix)); i >= 0 && strings.HasPrefix(c.Name, statPrefix) {
			s.base[i] = c.Position
		}
		for _, p := range []struct {
			prefix string
			field  func(*savedUser) *int64
		}{
			{waitPrefix, func(u *savedUser) *int64 { return &u.wait }}, {idlePrefix, func(u *savedUser) *int64 { return &u.idle }},
			{stuckPrefix, func(u *savedUser) *int64 { return &u.stuck }}, {wrotePrefix, func(u *savedUser) *int64 { return &u.wrote }},
		} {
			if name, ok := strings.CutPrefix(c.Name, p.prefix); ok && ValidUser(name) {
				*p.field(&b.userLocked(name).saved) = c.Position
			}
		}
	}
	s.atLoad = b.stats.values()
	s.totals = slices.Clone(s.base)
}

// saveSummary writes what changed since the last save, if SummaryInterval
// has passed (always when force).
func (b *Bridge) saveSummary(ctx context.Context, force bool) {
	now := b.cfg.Clock.Now()
	b.mu.Lock()
	s := &b.summary
	if s.base == nil || !force && now.Sub(s.lastRun) < b.cfg.SummaryInterval {
		b.mu.Unlock()
		return
	}
	s.lastRun = now
	var cs []relay.Cursor
	cur := b.stats.values()
	totals := make([]int64, len(cur))
	for i := range cur {
		totals[i] = s.base[i] + cur[i] - s.atLoad[i]
		if totals[i] > s.totals[i] {
			cs = append(cs, relay.Cursor{Name: statPrefix + statNames[i], Position: totals[i]})
		}
	}
	ms := now.UnixMilli()
	type change struct {
		u *user
		v savedUser
	}
	var changes []change
	for k, u := range b.users {
		v := u.saved
		// Only answers waiting a SummaryInterval or more: the ones
		// status is for, and a busy spool of answers read at once then
		// writes no row per user.
		switch {
		case len(u.pending) > 0 && now.Sub(u.pending[0].at) >= b.cfg.SummaryInterval:
			v.wait = max(v.wait, u.pending[0].at.UnixMilli(), v.idle+1)
		case v.wait > v.idle:
			v.idle = max(ms, v.wait+1)
		}
		switch {
		case u.stuckAt.IsZero():
		case u.wroteAt.After(u.stuckAt): // renamed since
			if v.stuck > v.wrote {
				v.wrote = max(u.wroteAt.UnixMilli(), v.stuck+1)
			}
		default:
			stuck := max(v.stuck, u.stuckAt.UnixMilli())
			if v.stuck <= v.wrote {
				stuck = max(stuck, v.wrote+1)
			}
			v.stuck = stuck
		}
		for _, f := range []struct {
			prefix   string
			old, new int64
		}{{waitPrefix, u.saved.wait, v.wait}, {idlePrefix, u.saved.idle, v.idle}, {stuckPrefix, u.saved.stuck, v.stuck}, {wrotePrefix, u.saved.wrote, v.wrote}} {
			if f.new > f.old {
				cs = append(cs, relay.Cursor{Name: f.prefix + k, Position: f.new})
			}
		}
		if v != u.saved {
			changes = append(changes, change{u, v})
		}
	}
	b.mu.Unlock()
	if len(cs) == 0 {
		return
	}
	if err := b.cfg.Store.AdvanceCursors(context.WithoutCancel(ctx), cs, now); err != nil {
		b.log.Warn("save the summary ctirelay status shows", "err", err)
		return
	}
	b.mu.Lock()
	s.totals = totals
	for _, c := range changes {
		c.u.saved = c.v
	}
	b.mu.Unlock()
}

// Summary is what `ctirelay status` shows of the spool: the serving
// bridge's last saved summary.
type Summary struct {
	Saved          bool      // a bridge has saved one
	SavedAt        time.Time // when, last
	FilesTaken     int64
	FilesRefused   int64
	FilesPurged    int64
	FilesIgnored   int64
	AnswersWritten int64
	FramesWritten  int64
	RenameRetries  int64
	RenameFailures int64
	Users          []UserSummary // waiting or stuck, oldest first
}

// UserSummary is a user with an answer not yet renamed into Rx.
type UserSummary struct {
	User         string
	WaitingSince time.Time // the oldest answer waiting (zero: none)
	StuckSince   time.Time // rename_attempts ran out, not renamed since (zero: not stuck)
}

// ReadSummary reads the summary the serving bridge saved.
func ReadSummary(ctx context.Context, st relay.Spool) (Summary, error) {
	var out Summary
	cs, err := st.CursorsWithPrefix(ctx, cursorPrefix)
	if err != nil {
		return out, fmt.Errorf("read the file bridge's summary: %w", err)
	}
	totals := make([]int64, len(statNames))
	users := map[string]*savedUser{}
	user := func(name string) *savedUser {
		if users[name] == nil {
			users[name] = &savedUser{}
		}
		return users[name]
	}
	for _, c := range cs {
		name, isStat := strings.CutPrefix(c.Name, statPrefix)
		if isStat {
			if i := slices.Index(statNames, name); i >= 0 {
				totals[i] = c.Position
			}
		}
		if name, ok := strings.CutPrefix(c.Name, waitPrefix); ok {
			user(name).wait = c.Position
		} else if name, ok := strings.CutPrefix(c.Name, idlePrefix); ok {
			user(name).idle = c.Position
		} else if name, ok := strings.CutPrefix(c.Name, stuckPrefix); ok {
			user(name).stuck = c.Position
		} else if name, ok := strings.CutPrefix(c.Name, wrotePrefix); ok {
			user(name).wrote = c.Position
		} else if !isStat {
			continue
		}
		out.Saved = true
		if c.UpdatedAt.After(out.SavedAt) {
			out.SavedAt = c.UpdatedAt
		}
	}
	out.FilesTaken, out.FilesRefused, out.FilesPurged, out.FilesIgnored = totals[0], totals[1], totals[2], totals[3]
	out.AnswersWritten, out.FramesWritten, out.RenameRetries, out.RenameFailures = totals[4], totals[5], totals[6], totals[7]
	for name, u := range users {
		var us UserSummary
		if u.wait > u.idle {
			us.WaitingSince = time.UnixMilli(u.wait)
		}
		if u.stuck > u.wrote {
			us.StuckSince = time.UnixMilli(u.stuck)
		}
		if !us.WaitingSince.IsZero() || !us.StuckSince.IsZero() {
			us.User = name
			out.Users = append(out.Users, us)
		}
	}
	slices.SortFunc(out.Users, func(a, b UserSummary) int {
		if c := a.WaitingSince.Compare(b.WaitingSince); c != 0 {
			return c
		}
		return strings.Compare(a.User, b.User)
	})
	return out, nil
}
