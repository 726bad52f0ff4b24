package relay

import "time"

// States of a command as CommandRecord reports them.
const (
	CommandQueued   = "queued"   // in the inbox, not yet tried
	CommandRunning  = "running"  // held under a lease
	CommandRetrying = "retrying" // in the inbox after a transient failure
	CommandDone     = "done"     // answered and settled
	CommandDead     = "dead"     // in relay_dead
)

// CommandRecord is what the store knows of one command by its inbox id,
// whichever source or relay queued it: GET /v1/commands/{id}.
type CommandRecord struct {
	ID    int64
	State string // CommandQueued … CommandDead
	// Attempts is the inbox's (or the dead letter's) count; 0 for a done
	// command, whose inbox row is gone.
	Attempts   int
	Source     string
	Ref        string
	Agent      string
	Frame      string
	EnqueuedAt time.Time
	// LastError is the last transient failure of a retrying command.
	LastError string
	// Replies are the command's replies from the journal, in journal order.
	Replies []JournalEntry
	// DeadReason is relay_dead's reason for a dead command.
	DeadReason string
}
