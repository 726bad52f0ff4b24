package memstore

import (
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// The tables as the ERP and a DBA see them, for tests (storetest.Tables).

// InboxRow is a row of relay_inbox.
type InboxRow struct {
	relay.Job // Owner is lease_owner: empty unless running
	State     string
	NotBefore time.Time // zero: none
	Expires   time.Time // lease_expires; zero unless running
	LastError string
}

// Inbox returns the unfinished commands in id order.
func (s *Store) Inbox() []InboxRow {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]InboxRow, len(s.inbox))
	for i, r := range s.inbox {
		out[i] = InboxRow{Job: r.Job, State: r.state, NotBefore: r.notBefore, Expires: r.expires, LastError: r.lastError}
	}
	return out
}

// Dead returns relay_dead in id order.
func (s *Store) Dead() []relay.DeadLetter {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.dead)
}

// DeleteTTO removes a row of T_TTO, as the ERP does once it has read it.
func (s *Store) DeleteTTO(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tto = slices.DeleteFunc(s.tto, func(r Row) bool { return r.ID == id })
}

// CursorRows returns relay_cursor in name order.
func (s *Store) CursorRows() []relay.Cursor {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.SortedFunc(maps.Values(s.cursors), func(a, b relay.Cursor) int { return strings.Compare(a.Name, b.Name) })
}

// JournalLen is the number of journal entries.
func (s *Store) JournalLen() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.journal)
}
