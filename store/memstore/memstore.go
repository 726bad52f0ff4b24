// Package memstore is an in-memory relay.Store. It runs store/storetest like
// the SQL dialects, so it keeps their semantics. Engine and bridge tests use
// it; it is not durable and is never used by the binary.
package memstore

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

var _ relay.Store = (*Store)(nil)

// Row is a message row of T_TTI or T_TTO.
type Row struct {
	ID   int64
	Text string
}

type inboxRow struct {
	relay.Job
	state     string // ready | running
	notBefore time.Time
	expires   time.Time
	lastError string
}

// Store keeps every table in memory behind one mutex (one "transaction").
type Store struct {
	mu      sync.Mutex
	tti     []Row
	tto     []Row
	inbox   []*inboxRow // in id order
	peak    int         // the most commands the inbox ever held
	dead    []relay.DeadLetter
	journal []relay.JournalEntry
	cursors map[string]relay.Cursor
	nodes   map[string]relay.Node
	runs    []relay.JobRun           // relay_job_run in id order
	locks   map[string]chan struct{} // named locks held: closed when lost
	marks   []outboxMark             // relay_tto_mark, oldest first (outbox.go)
	ids     struct{ tti, tto, inbox, dead, journal, run int64 }
	closed  bool
	fail    error
}

// SetFail makes every call return err (nil heals): a database that is down.
func (s *Store) SetFail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = err
}

// New returns an empty store.
func New() *Store { return &Store{} }

// InsertTTI adds a row to T_TTI as the ERP would; id 0 lets the store pick.
func (s *Store) InsertTTI(id int64, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id == 0 {
		s.ids.tti++
		id = s.ids.tti
	} else if id > s.ids.tti {
		s.ids.tti = id
	}
	s.tti = append(s.tti, Row{ID: id, Text: text})
}

// TTO returns the rows of T_TTO in id order.
func (s *Store) TTO() []Row {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.tto)
}

// TTI returns the rows still in T_TTI.
func (s *Store) TTI() []Row {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.tti)
}

// InboxLen is the number of unfinished commands.
func (s *Store) InboxLen() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.inbox)
}

// MaxInboxLen is the most commands the inbox ever held at once.
func (s *Store) MaxInboxLen() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
}

func (s *Store) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed {
		return errClosed
	}
	return s.fail
}

type closedError struct{}

func (closedError) Error() string { return "memstore: closed" }

var errClosed error = closedError{}

func (s *Store) journalAdd(e relay.JournalEntry) {
	s.ids.journal++
	e.ID = s.ids.journal
	s.journal = append(s.journal, e)
}

func (s *Store) ttoAdd(text string) {
	s.ids.tto++
	s.tto = append(s.tto, Row{ID: s.ids.tto, Text: text})
}

// admit records one message in the inbox or, rejected, in dead letters.
// A refused message whose agent has commands in the inbox is held behind
// them (see store.Admissions): queued with relay.RefusedVerb, answered and
// dead-lettered when it reaches the head of its agent's queue.
func (s *Store) admit(m relay.Inbound, now time.Time, maxFrame int, replyInTTO bool) relay.Enqueued {
	source, ref, raw := m.Source, m.Ref, m.Raw
	a := relay.AdmitInbound(m, maxFrame)
	held := a.Err != nil && a.Reply() != nil && slices.ContainsFunc(s.inbox, func(r *inboxRow) bool { return r.Agent == a.Agent })
	if a.Err != nil && !held {
		s.ids.dead++
		s.dead = append(s.dead, relay.DeadLetter{ID: s.ids.dead, Source: source, Ref: ref, Agent: a.Agent, Frame: raw,
			Code: a.Err.Code, Reason: a.Err.Code + ": " + a.Err.Message, EnqueuedAt: now, DiedAt: now})
		s.journalAdd(relay.JournalEntry{At: now, Direction: relay.DirIn, Kind: relay.KindRejected, Agent: a.Agent, Frame: raw, Origin: source, Ref: ref})
		if r := a.Reply(); r != nil {
			s.journalAdd(relay.JournalEntry{At: now, Direction: relay.DirOut, Kind: relay.KindReply, Agent: a.Agent, Frame: r.String(), Origin: source, Ref: ref, Outcome: relay.OutcomeErr})
			if replyInTTO {
				s.ttoAdd(r.String())
			}
		}
		return relay.Enqueued{Err: a.Err}
	}
	verb, kind := a.Verb, relay.KindCommand
	if held {
		verb, kind = relay.RefusedVerb(a.Err), relay.KindRejected
	}
	s.ids.inbox++
	j := relay.Job{ID: s.ids.inbox, Source: source, Ref: ref, Agent: a.Agent, Verb: verb, Frame: raw, EnqueuedAt: now}
	s.inbox = append(s.inbox, &inboxRow{Job: j, state: "ready"})
	s.peak = max(s.peak, len(s.inbox))
	s.journalAdd(relay.JournalEntry{At: now, Direction: relay.DirIn, Kind: kind, Agent: a.Agent, Frame: raw, Origin: source, Ref: ref, InboxID: j.ID})
	return relay.Enqueued{ID: j.ID}
}

// Intake implements relay.Queue: the rows, then a lease on each command that
// arrived at the head of its agent's queue (the agent had nothing in the
// inbox), oldest first, up to claim.Limit.
func (s *Store) Intake(ctx context.Context, req relay.IntakeRequest, claim relay.ClaimRequest) (int, []relay.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return 0, nil, err
	}
	busy := map[string]bool{}
	for _, r := range s.inbox {
		busy[r.Agent] = true
	}
	first := s.ids.inbox // admitted rows get larger ids
	n, full := s.intakeLocked(req)
	var jobs []relay.Job
	for _, r := range s.inbox {
		if len(jobs) >= claim.Limit {
			break
		}
		if r.ID <= first || busy[r.Agent] {
			continue
		}
		busy[r.Agent] = true
		s.lease(r, claim)
		jobs = append(jobs, r.Job)
	}
	return n, jobs, full
}

// lease hands a ready row to claim.Owner.
func (s *Store) lease(r *inboxRow, claim relay.ClaimRequest) {
	r.state, r.Owner, r.expires = "running", claim.Owner, claim.LeaseUntil
	r.Attempts++
}

func (s *Store) intakeLocked(req relay.IntakeRequest) (int, error) {
	limit, full := req.Limit, false
	if req.MaxInbox > 0 {
		if room := max(req.MaxInbox-len(s.inbox), 0); room < limit {
			limit, full = room, true
		}
	}
	slices.SortFunc(s.tti, func(a, b Row) int { return int(a.ID - b.ID) })
	n := min(limit, len(s.tti))
	for _, r := range s.tti[:n] {
		s.admit(relay.Inbound{Source: relay.SourceERP, Ref: strconv.FormatInt(r.ID, 10), Raw: r.Text}, req.Now, req.MaxFrame, true)
	}
	s.tti = slices.Delete(s.tti, 0, n)
	if full && n == limit && len(s.tti) > 0 {
		return n, relay.ErrInboxFull
	}
	return n, nil
}

// Enqueue implements relay.Sources.
func (s *Store) Enqueue(ctx context.Context, msgs []relay.Inbound, now time.Time, maxFrame int) ([]relay.Enqueued, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	out := make([]relay.Enqueued, len(msgs))
	for i, m := range msgs {
		out[i] = s.admit(m, now, maxFrame, false)
	}
	return out, nil
}

// Abandon implements relay.Sources.
func (s *Store) Abandon(ctx context.Context, ids []int64, why *relay.ProtocolError) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	n := 0
	for _, r := range s.inbox {
		if r.state == "ready" && !r.Verb.IsRefused() && slices.Contains(ids, r.ID) {
			r.Verb = relay.RefusedVerb(why)
			n++
		}
	}
	return n, nil
}

// Claim implements relay.Queue: heads of agent queues only.
func (s *Store) Claim(ctx context.Context, req relay.ClaimRequest) ([]relay.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var jobs []relay.Job
	for _, r := range s.inbox {
		if len(jobs) >= req.Limit {
			break
		}
		head := !seen[r.Agent]
		seen[r.Agent] = true
		if !head || r.state != "ready" || r.notBefore.After(req.Now) {
			continue
		}
		s.lease(r, req)
		jobs = append(jobs, r.Job)
	}
	return jobs, nil
}

// Reclaim implements relay.Queue.
func (s *Store) Reclaim(ctx context.Context, req relay.ClaimRequest) ([]relay.Job, error) {
	return s.retake(ctx, req.Limit, req.Owner, req.LeaseUntil, func(r *inboxRow) bool { return r.expires.Before(req.Now) })
}

// ReclaimDead implements relay.Queue: heads held by relays known dead.
func (s *Store) ReclaimDead(ctx context.Context, req relay.ReclaimDeadRequest) ([]relay.Job, error) {
	return s.retake(ctx, req.Limit, req.Owner, req.LeaseUntil, func(r *inboxRow) bool {
		return r.Owner != req.Owner && (req.Everyone || relay.OwnerNode(r.Owner) == req.Node)
	})
}

// retake leases to owner, until until, at most limit running commands that
// take accepts, as a new attempt.
func (s *Store) retake(ctx context.Context, limit int, owner string, until time.Time, take func(r *inboxRow) bool) ([]relay.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	var jobs []relay.Job
	for _, r := range s.inbox {
		if len(jobs) >= limit {
			break
		}
		if r.state == "running" && take(r) {
			r.Owner, r.expires = owner, until
			r.Attempts++
			jobs = append(jobs, r.Job)
		}
	}
	return jobs, nil
}

// Extend implements relay.Queue.
func (s *Store) Extend(ctx context.Context, owner string, until time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return err
	}
	for _, r := range s.inbox {
		if r.state == "running" && r.Owner == owner {
			r.expires = until
		}
	}
	return nil
}

// Settle implements relay.Queue: the outcomes, then a lease on the next
// command of each agent whose command finished, when it is ready.
func (s *Store) Settle(ctx context.Context, outcomes []relay.Outcome, now time.Time, claim relay.ClaimRequest) (int, []relay.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return 0, nil, err
	}
	applied, finished := s.settleLocked(outcomes, now)
	var jobs []relay.Job
	for _, r := range s.inbox { // id order, so the limit keeps the oldest
		if len(jobs) >= claim.Limit {
			break
		}
		i := slices.Index(finished, r.Agent)
		if i < 0 {
			continue
		}
		// the agent's first row left is its next command
		finished = slices.Delete(finished, i, i+1)
		if r.state != "ready" || r.notBefore.After(claim.Now) {
			continue
		}
		s.lease(r, claim)
		jobs = append(jobs, r.Job)
	}
	return applied, jobs, nil
}

// Wakeups implements relay.Queue: the engine polls a memstore.
func (s *Store) Wakeups() (intake, claim <-chan struct{}) { return nil, nil }

// WakesAtOnce implements relay.Queue: the fake never wakes anyone.
func (s *Store) WakesAtOnce() bool { return false }

// settleLocked applies outcomes and returns how many applied and the agents
// whose command finished (Done or Dead).
func (s *Store) settleLocked(outcomes []relay.Outcome, now time.Time) (int, []string) {
	applied := 0
	var finished []string
	for _, o := range outcomes {
		i := slices.IndexFunc(s.inbox, func(r *inboxRow) bool { return r.ID == o.Job.ID })
		if i < 0 {
			continue
		}
		r := s.inbox[i]
		if r.state != "running" || r.Owner != o.Job.Owner || r.Attempts != o.Job.Attempts {
			continue
		}
		applied++
		if o.Kind == relay.Retry {
			r.state, r.Owner, r.notBefore, r.lastError, r.expires = "ready", "", o.NotBefore, o.Reason, time.Time{}
			continue
		}
		s.inbox = slices.Delete(s.inbox, i, i+1)
		finished = append(finished, r.Agent)
		for _, f := range o.Replies {
			outcome := relay.OutcomeOK
			if f.Verb() == "ERR" {
				outcome = relay.OutcomeErr
			}
			s.journalAdd(relay.JournalEntry{At: now, Direction: relay.DirOut, Kind: relay.KindReply, Agent: r.Agent, Frame: f.String(),
				Origin: r.Source, Ref: r.Ref, InboxID: r.ID, Outcome: outcome, Latency: now.Sub(r.EnqueuedAt)})
			if r.Source == relay.SourceERP {
				s.ttoAdd(f.String())
			}
		}
		if o.Kind == relay.Dead {
			verb := relay.DeadVerb(r.Job) // none when refused at admission: never retried
			s.ids.dead++
			s.dead = append(s.dead, relay.DeadLetter{ID: s.ids.dead, InboxID: r.ID, Source: r.Source, Ref: r.Ref, Agent: r.Agent,
				Verb: verb, Frame: r.Frame, Code: store.ErrCode(o.Replies), Reason: o.Reason, Attempts: r.Attempts, EnqueuedAt: r.EnqueuedAt, DiedAt: now})
		}
	}
	return applied, finished
}

// Publish implements relay.Queue.
func (s *Store) Publish(ctx context.Context, events []relay.Frame, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return err
	}
	for _, f := range events {
		s.ttoAdd(f.String())
		s.journalAdd(relay.JournalEntry{At: now, Direction: relay.DirOut, Kind: relay.KindEvent, Agent: f.Login(), Frame: f.String(), Origin: relay.OriginSwitch})
	}
	return nil
}

// Release implements relay.Queue.
func (s *Store) Release(ctx context.Context, owner string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return err
	}
	for _, r := range s.inbox {
		if r.state == "running" && r.Owner == owner {
			r.state, r.Owner, r.expires = "ready", "", time.Time{}
			r.Attempts--
		}
	}
	return nil
}

// Close implements relay.Store.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for name, lost := range s.locks {
		close(lost)
		delete(s.locks, name)
	}
	return nil
}
