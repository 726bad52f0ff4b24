package relay

import (
	"context"
	"time"
)

// Cursor is a named durable position in the journal (a row of relay_cursor):
// how far a bridge or webhook has delivered.
type Cursor struct {
	Name      string
	Position  int64 // a journal id; everything up to it was delivered
	UpdatedAt time.Time
}

// Cursors is implemented by stores that keep durable journal positions, so a
// bridge can tell a client what it missed while it was away, across restarts.
type Cursors interface {
	// Cursor returns the named position; found is false when none was saved.
	Cursor(ctx context.Context, name string) (c Cursor, found bool, err error)
	// AdvanceCursors saves positions in one transaction. A position only
	// moves forward: a smaller one than the saved one is ignored, so relays
	// sharing a cursor never move it back. UpdatedAt is set to now.
	AdvanceCursors(ctx context.Context, cursors []Cursor, now time.Time) error
}

// JournalFollower is implemented by stores that let followers read only the
// kinds of journal entries they need (bridges need replies and events, not
// the commands taken), one query per poll whatever the number of clients.
type JournalFollower interface {
	// JournalSince returns up to limit entries with id > after whose kind is
	// one of kinds (every kind when kinds is empty), in id order.
	JournalSince(ctx context.Context, after int64, kinds []string, limit int) ([]JournalEntry, error)
}
