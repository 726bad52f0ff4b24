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

// JournalReader is what followers of the journal need (bridges, ctirelay
// tail and send --wait): where it ends, the kinds of entries they want (one
// query per poll whatever the number of clients), and durable positions, so a
// bridge can tell a client what it missed while it was away, across restarts.
type JournalReader interface {
	// JournalSince returns up to limit entries with id > after whose kind is
	// one of kinds (every kind when kinds is empty), in id order.
	JournalSince(ctx context.Context, after int64, kinds []string, limit int) ([]JournalEntry, error)
	// JournalHead returns the last journal id (0 when the journal is empty),
	// so a follower can start from now.
	JournalHead(ctx context.Context) (int64, error)
	// Cursor returns the named position; found is false when none was saved.
	Cursor(ctx context.Context, name string) (c Cursor, found bool, err error)
	// AdvanceCursors saves positions in one transaction. A position only
	// moves forward: a smaller one than the saved one is ignored, so relays
	// sharing a cursor never move it back. UpdatedAt is set to now.
	AdvanceCursors(ctx context.Context, cursors []Cursor, now time.Time) error
	// JournalWakeups fires when other processes may have written the journal
	// (PostgreSQL's NOTIFY), so a Feed reads at once; nil for a store
	// without notifications across processes, whose feeds poll.
	JournalWakeups() <-chan struct{}
}

// Spool is what a file spool bridge needs of the store beside its feed:
// input it refuses itself (a file purged at start, a frame for another
// user's login) recorded in relay_dead as the intake would, and its durable
// state in relay_cursor found again by name prefix at start.
type Spool interface {
	// Bury records dead letters (InboxID, ID and Attempts are ignored;
	// DiedAt and a zero EnqueuedAt are now) in one transaction. One with a
	// Verb can be retried by RetryDead like a command that died.
	Bury(ctx context.Context, letters []DeadLetter, now time.Time) error
	// CursorsWithPrefix returns the cursors whose name begins with prefix,
	// in name order.
	CursorsWithPrefix(ctx context.Context, prefix string) ([]Cursor, error)
}
