package relay

import (
	"context"
	"errors"
	"time"
)

// Sources of inbox commands, recorded with each one.
const (
	SourceERP    = "erp"    // a T_TTI row
	SourceSocket = "socket" // the Tactium-compatible socket bridge
	SourceFile   = "file"   // a SIGACTI spool file
	SourceHTTP   = "http"   // the HTTP bridge
	SourceCLI    = "cli"    // ctirelay send
	// SourceOutput marks a relay_dead row that is no command but an output
	// (a reply or an event) the database refused to write to the ERP's
	// outbound table: its frame is the output, its reason the database's
	// error. It has no verb, so it is never retried.
	SourceOutput = "output"
)

// Inbound is a message offered to the durable queue by a source other than
// the ERP table (which Intake reads itself).
type Inbound struct {
	Source string
	Ref    string // the source's reference: connection id, file name ...
	Raw    string
	// Refusal, when set, is the source's own verdict on Raw (a spool file
	// that is not frames, a frame for a login bound to another client).
	// The store records it as it does a message Admit refuses: held behind
	// Agent's earlier commands and answered in their order, dead-lettered,
	// its ERR journaled as its reply. So a bridge's own refusals keep the
	// agent's order and reach the journal like any answer. Agent is the
	// login answered and ordered by; "" when none can be (dead letter and
	// journal only).
	Refusal *ProtocolError
	Agent   string
}

// Enqueued tells what became of one Inbound: queued with an inbox id, or
// rejected (and already dead-lettered and answered) with the admission error.
// A message refused while its agent had an earlier command unfinished is
// queued (an ID, no Err): its ERR comes as its reply, in the agent's order,
// like any command's (see RefusedVerb).
type Enqueued struct {
	ID  int64
	Err *ProtocolError
}

// Job is an inbox command held under a lease by one relay.
type Job struct {
	ID         int64
	Source     string
	Ref        string
	Agent      string
	Verb       Verb
	Frame      string
	Attempts   int // including the current one
	EnqueuedAt time.Time
	Owner      string // lease owner; fences Settle against a takeover
}

// OutcomeKind says how a job ended.
type OutcomeKind int

const (
	// Done: the switch answered; Replies go to the originator and the journal.
	Done OutcomeKind = iota
	// Retry: a transient failure; the job waits until NotBefore, keeping its
	// place at the head of its agent's queue.
	Retry
	// Dead: the job can never succeed; it moves to relay_dead with Reason and
	// Replies (the ERR) go to the originator.
	Dead
)

// Outcome settles one job.
type Outcome struct {
	Job       Job
	Kind      OutcomeKind
	Replies   []Frame
	Reason    string    // Dead: why; Retry: the last error
	NotBefore time.Time // Retry
}

// ClaimRequest asks for up to Limit commands that are at the head of their
// agent's queue, ready, and not held by anyone.
type ClaimRequest struct {
	Owner      string
	Limit      int
	Now        time.Time
	LeaseUntil time.Time
}

// ReclaimDeadRequest asks for the commands of relays that are known to be
// dead. A lease owner is NODE#INCARNATION (LeaseOwner); the incarnations of
// Node other than Owner are dead, since Owner is the one running under that
// name. An owner equal to Node itself (a relay from before incarnations) is
// one of them. With Everyone, every owner other than Owner is dead: the
// store admits one relay at a time (SQLite's file lock) and Owner holds it.
type ReclaimDeadRequest struct {
	Owner      string // this incarnation: it takes the commands over
	Node       string // Owner's node name
	Everyone   bool
	Limit      int
	LeaseUntil time.Time
}

// IntakeRequest moves up to Limit rows from the ERP's inbound table.
type IntakeRequest struct {
	Limit    int
	Now      time.Time
	MaxFrame int
	// MaxInbox, when above zero, bounds the inbox: the store takes at most
	// MaxInbox minus the commands already in it, and says ErrInboxFull when
	// that room ran out before Limit did with rows left in T_TTI. Rows wait in T_TTI meanwhile: a
	// backlog moved into the inbox all at once only made every inbox index
	// larger and slower to change.
	MaxInbox int
}

// ErrInboxFull is returned by Intake, with what it took (maybe nothing),
// when the inbox holds IntakeRequest.MaxInbox commands and T_TTI holds more:
// the caller goes on once commands are settled.
var ErrInboxFull = errors.New("inbox full")

// Store is the durable queue seam: everything a dialect (store/sqlite,
// store/postgres, store/memstore) implements, grouped by who uses it. Each
// consumer takes only the group it needs; the binary opens a Store.
//
// For a dialect author: implement every method (there is nothing optional),
// assert it at compile time with
//
//	var _ relay.Store = (*Store)(nil)
//
// and run store/storetest, which defines the semantics (admission, head of
// queue, leases, settle, journal, cursors, nodes) for every dialect alike;
// a store without SQL gives the suite its tables as storetest.Tables, as
// store/memstore does.
//
// Each method is one transaction: nothing is half done. A cancelled context
// is returned as the error and changes nothing; a closed store reports
// errors and never pretends to have done the work.
type Store interface {
	Queue
	Sources
	JournalReader
	Operators
	Nodes
	Locker
	Spool
	JobRuns
	Housekeeping
	Notebook
	// Close releases the store's resources. A second Close is harmless.
	Close() error
}

// Queue is what the engine needs: commands in from T_TTI, leased at the head
// of their agent's queue, settled, and the switch's events out.
//
// Intake and Settle lease, in their own transaction, the commands they leave
// at the head of an agent's queue, so the engine dispatches them without a
// Claim: every such command that is ready, up to claim.Limit (the engine
// counts on it to know whether Claim must look). A claim with Limit zero
// (the zero ClaimRequest) leases nothing: the call only takes rows or
// settles.
type Queue interface {
	// Intake takes up to req.Limit rows from T_TTI in IS_TTI order and, in
	// the same transaction, records each in the inbox (or, when Admit
	// rejects it, in relay_dead with an ERR reply in T_TTO) and in the
	// journal. A rejected row whose agent has an earlier command unfinished
	// goes to the inbox instead, marked with RefusedVerb, so its ERR keeps
	// the agent's order. It leases up to claim.Limit of the commands that arrived at
	// the head of their agent's queue (the agent had nothing waiting) to
	// claim.Owner until claim.LeaseUntil. It returns how many rows it took
	// and the leased commands in id order.
	Intake(ctx context.Context, req IntakeRequest, claim ClaimRequest) (int, []Job, error)
	// Claim leases head-of-queue commands: for any agent, only its oldest
	// unfinished command is ever held, across every relay sharing the store.
	Claim(ctx context.Context, req ClaimRequest) ([]Job, error)
	// Reclaim leases commands whose lease has expired (their relay died), so
	// the engine can retry them or declare them in doubt.
	Reclaim(ctx context.Context, req ClaimRequest) ([]Job, error)
	// Extend pushes back the lease of every command the owner holds.
	Extend(ctx context.Context, owner string, until time.Time) error
	// Settle applies outcomes. An outcome whose lease was taken over (owner
	// or attempt no longer match) is ignored; the count applied is returned.
	// It leases up to claim.Limit of the commands the outcomes leave at the
	// head of their agents' queues (the agent's next command, when it is
	// ready at claim.Now), returning them in id order.
	Settle(ctx context.Context, outcomes []Outcome, now time.Time, claim ClaimRequest) (int, []Job, error)
	// Publish records switch events in T_TTO and the journal.
	//
	// Settle, SettleClaim and Publish isolate a message the database refuses
	// for its data (relay.ErrDataRejected: too long for the ERP's column, an
	// encoding or a constraint of the ERP's): that output goes to relay_dead
	// (source SourceOutput, with the database's error) and to the journal,
	// the rest of the batch is written in order, and the command whose reply
	// it was is settled all the same. They return ErrDataRejected only when
	// even that record was refused.
	Publish(ctx context.Context, events []Frame, now time.Time) error
	// PublishOnce does what Publish does, once per key: in the same
	// transaction it records key in relay_cursor (position: how many events
	// it published), and when key is already there it does nothing and
	// reports false. The engine publishes spill files with it, so one is
	// never published twice.
	PublishOnce(ctx context.Context, key string, events []Frame, now time.Time) (bool, error)
	// Release hands back every command the owner holds, untouched, for
	// another relay (or the next start) to take.
	Release(ctx context.Context, owner string) error
	// ReclaimDead leases, whatever their lease expiry, the commands held by
	// relays known to be dead (see ReclaimDeadRequest), so the engine can
	// retry them or declare them in doubt at once rather than a lease later.
	ReclaimDead(ctx context.Context, req ReclaimDeadRequest) ([]Job, error)
	// InFlight lists the commands of these agents (compared without regard
	// to case, as switches spell logins as they like) at the switch under a
	// lease whose owner is not owner. The relay that hears the switch's
	// events (LockMonitor) asks before it journals them: an event a command
	// at another relay caused must follow that command's reply, which the
	// other relay writes. One indexed probe.
	InFlight(ctx context.Context, agents []string, owner string) ([]Lease, error)
	// Wakeups returns channels on which a value means "look now": intake
	// when rows may have arrived in T_TTI, claim when inbox commands may
	// have become claimable (added or unblocked by any relay). A store that
	// cannot tell returns nil channels; the engine polls either way.
	Wakeups() (intake, claim <-chan struct{})
	// WakesAtOnce reports whether those wake-ups (and JournalWakeups)
	// follow every other process's commit at once, so that the polls are
	// only a fallback and may be long; false keeps the configured polls
	// (no notifications, a timer-driven watcher, a network file system).
	WakesAtOnce() bool
}

// Sources is what the bridges and `ctirelay send` need to offer messages
// from sources other than T_TTI.
type Sources interface {
	// Enqueue records messages like Intake does, in one transaction:
	// rejected ones are dead-lettered and answered in the journal.
	Enqueue(ctx context.Context, msgs []Inbound, now time.Time, maxFrame int) ([]Enqueued, error)
	// Abandon marks commands whose requester is gone (see
	// CodeRequesterGone): each of ids still waiting in the inbox, not held
	// by a relay and not already a refused message, becomes a queued refused
	// message with why (RefusedVerb(why)), answered and dead-lettered when it
	// reaches the head of its agent's queue. A command held by a relay (at
	// the switch) is left alone. It returns how many it marked.
	Abandon(ctx context.Context, ids []int64, why *ProtocolError) (int, error)
}

// Lease is one command at the switch under a relay's lease.
type Lease struct {
	ID       int64
	Attempts int
	Agent    string
}
