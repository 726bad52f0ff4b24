package spool

import (
	"context"
	"fmt"
	"strings"

	"github.com/ctirelay/ctirelay/relay"
)

// Durable state in relay_cursor (see the package doc).
const (
	cursorPrefix = "file:"
	rxPrefix     = "file:rx:"
	txPrefix     = "file:tx:"
	bindPrefix   = "file:bind:"
	unbindPrefix = "file:unbind:"
)

// load reads the durable state afresh (a new term may follow another
// relay's): positions, last files taken and bindings. Answers not yet
// written come again from the feed, after the acknowledged position.
func (b *Bridge) load(ctx context.Context) error {
	cs, err := b.cfg.Store.CursorsWithPrefix(ctx, cursorPrefix)
	if err != nil {
		return fmt.Errorf("file bridge: read state: %w", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.users, b.logins = map[string]*user{}, map[string]string{}
	type binding struct {
		login string
		at    int64
		on    bool
	}
	latest := map[string]binding{}
	for _, c := range cs {
		switch {
		case strings.HasPrefix(c.Name, rxPrefix):
			u := b.userLocked(strings.TrimPrefix(c.Name, rxPrefix))
			u.written, u.queued = c.Position, max(u.queued, c.Position)
		case strings.HasPrefix(c.Name, txPrefix):
			u := b.userLocked(strings.TrimPrefix(c.Name, txPrefix))
			u.txDone, u.txLeft = c.Position, true
		case strings.HasPrefix(c.Name, bindPrefix), strings.HasPrefix(c.Name, unbindPrefix):
			on := strings.HasPrefix(c.Name, bindPrefix)
			rest := strings.TrimPrefix(strings.TrimPrefix(c.Name, bindPrefix), unbindPrefix)
			name, login, ok := strings.Cut(rest, ":")
			if !ok || !ValidUser(name) {
				continue
			}
			if l, seen := latest[name]; !seen || c.Position > l.at || c.Position == l.at && !on {
				latest[name] = binding{login: login, at: c.Position, on: on}
			}
		}
	}
	for name, l := range latest {
		u := b.userLocked(name)
		u.name, u.bindAt = name, l.at
		if l.on {
			u.login = l.login
		}
	}
	for name, login := range b.cfg.Users {
		u := b.userLocked(name)
		u.name, u.login, u.static = name, strings.TrimSpace(login), true
	}
	for k, u := range b.users {
		if u.login != "" {
			b.logins[strings.ToLower(u.login)] = k
		}
	}
	b.loadSummaryLocked(cs)
	return nil
}

// userLocked is the user of that code, made if new. Called with mu held.
func (b *Bridge) userLocked(name string) *user {
	k := key(name)
	u := b.users[k]
	if u == nil {
		u = &user{name: name}
		b.users[k] = u
	}
	return u
}

// owner is the user a login is bound to ("" when none). mu held.
func (b *Bridge) ownerLocked(login string) string {
	return b.logins[strings.ToLower(strings.TrimSpace(login))]
}

// bindLocked records what a command taken from u's file does to its
// binding and returns the cursor to save, if any: L ON binds u to the
// login (one login per user: a later L ON moves it), L OFF unbinds.
// Bindings from Config.Users never move. mu held.
func (b *Bridge) bindLocked(u *user, f relay.Frame, inboxID int64) (relay.Cursor, bool) {
	if u.static || !strings.EqualFold(f.Verb(), string(relay.VerbLogon)) || len(f.Args()) == 0 {
		return relay.Cursor{}, false
	}
	login := strings.TrimSpace(f.Login())
	lk := strings.ToLower(login)
	switch strings.ToUpper(strings.TrimSpace(f.Arg(0))) {
	case "ON":
		if u.login != "" {
			delete(b.logins, strings.ToLower(u.login))
		}
		u.login, u.bindAt = login, inboxID
		b.logins[lk] = key(u.name)
		return relay.Cursor{Name: bindPrefix + u.name + ":" + lk, Position: inboxID}, true
	case "OFF":
		if !strings.EqualFold(u.login, login) {
			return relay.Cursor{}, false
		}
		delete(b.logins, lk)
		u.login, u.bindAt = "", inboxID
		return relay.Cursor{Name: unbindPrefix + u.name + ":" + lk, Position: inboxID}, true
	}
	return relay.Cursor{}, false
}
