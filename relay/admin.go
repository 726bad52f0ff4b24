package relay

import (
	"context"
	"time"
)

// Journal directions and kinds, as stored in relay_journal.
const (
	DirIn  = "in"
	DirOut = "out"

	KindCommand  = "command"  // a command taken into the inbox
	KindRejected = "rejected" // a message refused at intake (dead-lettered)
	KindReply    = "reply"    // an answer to a command
	KindEvent    = "event"    // an unsolicited switch event

	OutcomeOK  = "ok"
	OutcomeErr = "err"

	OriginSwitch = "switch" // events come from the switch
)

// JournalEntry is one row of relay_journal: every message in either direction.
type JournalEntry struct {
	ID        int64
	At        time.Time
	Direction string
	Kind      string
	Agent     string
	Frame     string
	Origin    string // the command's source, or "switch" for events
	Ref       string // the source's reference
	InboxID   int64  // the command a reply answers (0 for events)
	Outcome   string // ok | err for replies
	Latency   time.Duration
	// Error is the database's error when it refused to write this reply or
	// event to the ERP's outbound table; the message is in relay_dead too.
	Error string
}

// DeadLetter is one row of relay_dead.
type DeadLetter struct {
	ID      int64
	InboxID int64
	Source  string
	Ref     string
	Agent   string
	// Verb is empty for messages refused at intake: they never became
	// commands, so they cannot be retried.
	Verb       Verb
	Frame      string
	Code       string // the ERR code answered; "" when none was
	Reason     string
	Attempts   int
	EnqueuedAt time.Time
	DiedAt     time.Time
}

// QueueStatus is what `ctirelay status` and the relay_queue_status view show.
type QueueStatus struct {
	Pending   int64         // rows waiting in T_TTI
	Inbox     int64         // commands accepted, not finished
	Ready     int64         // waiting to run (including those waiting for a retry)
	InFlight  int64         // held under a lease
	Retrying  int64         // waiting for a retry after a transient failure
	Dead      int64         // rows in relay_dead
	Outbox    int64         // rows in T_TTO not yet taken by the ERP
	OldestAge time.Duration // age of the oldest unfinished command
	Done1m    int64         // replies in the last minute
}

// AgentStatus is one row of relay_agent_status.
type AgentStatus struct {
	Agent        string
	Pending      int64
	InFlight     int64
	LastActivity time.Time
}

// Operators is what operators and DBAs use beside the engine (ctirelay
// status, dead, the status bridges).
type Operators interface {
	Journal(ctx context.Context, afterID int64, limit int) ([]JournalEntry, error)
	DeadLetters(ctx context.Context, afterID int64, limit int) ([]DeadLetter, error)
	// RetryDead re-enqueues dead letters at the back of their agent's queue.
	RetryDead(ctx context.Context, ids []int64, now time.Time) (int, error)
	DropDead(ctx context.Context, ids []int64) (int, error)
	Status(ctx context.Context, now time.Time) (QueueStatus, error)
	Agents(ctx context.Context, now time.Time) ([]AgentStatus, error)
	// ERPColumns returns the text columns of the ERP's inbound and outbound
	// tables as the database has them, in table then column order, so a
	// relay can warn at start-up (and `ctirelay status` show) what would
	// make the database refuse a message (ColumnWarnings).
	ERPColumns(ctx context.Context) ([]Column, error)
	// Backlog reads the ends of T_TTI and dates the oldest of the unread
	// T_TTO rows, unread being their count (QueueStatus.Outbox, read just
	// before): see Backlog for how, and BacklogScan for its bound.
	Backlog(ctx context.Context, unread int64) (Backlog, error)
	// Command is one command by inbox id: its state, its replies from the
	// journal, its dead letter's reason; found is false when neither the
	// inbox, relay_dead nor the journal knows it (never queued, or pruned).
	Command(ctx context.Context, inboxID int64) (rec CommandRecord, found bool, err error)
}
