// Package memstore is an in-memory relay.Store and relay.Admin following the
// semantics store/storetest defines for the SQL dialects (the suite itself
// needs SQL, so it does not run here). Engine tests use it; it is not durable
// and is never used by the binary.
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

var (
	_ relay.Store         = (*Store)(nil)
	_ relay.Admin         = (*Store)(nil)
	_ relay.JournalHeader = (*Store)(nil)
)

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
	ids     struct{ tti, tto, inbox, dead, journal int64 }
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
func (s *Store) admit(source, ref, raw string, now time.Time, maxFrame int, replyInTTO bool) relay.Enqueued {
	a := relay.Admit(raw, maxFrame)
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

// Intake implements relay.Store.
func (s *Store) Intake(ctx context.Context, req relay.IntakeRequest) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	return s.intakeLocked(req)
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
		s.admit(relay.SourceERP, strconv.FormatInt(r.ID, 10), r.Text, req.Now, req.MaxFrame, true)
	}
	s.tti = slices.Delete(s.tti, 0, n)
	if full && n == limit && len(s.tti) > 0 {
		return n, relay.ErrInboxFull
	}
	return n, nil
}

// Enqueue implements relay.Store.
func (s *Store) Enqueue(ctx context.Context, msgs []relay.Inbound, now time.Time, maxFrame int) ([]relay.Enqueued, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	out := make([]relay.Enqueued, len(msgs))
	for i, m := range msgs {
		out[i] = s.admit(m.Source, m.Ref, m.Raw, now, maxFrame, false)
	}
	return out, nil
}

// Claim implements relay.Store: heads of agent queues only.
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
		r.state, r.Owner, r.expires = "running", req.Owner, req.LeaseUntil
		r.Attempts++
		jobs = append(jobs, r.Job)
	}
	return jobs, nil
}

// Reclaim implements relay.Store.
func (s *Store) Reclaim(ctx context.Context, req relay.ClaimRequest) ([]relay.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	var jobs []relay.Job
	for _, r := range s.inbox {
		if len(jobs) >= req.Limit {
			break
		}
		if r.state == "running" && r.expires.Before(req.Now) {
			r.Owner, r.expires = req.Owner, req.LeaseUntil
			r.Attempts++
			jobs = append(jobs, r.Job)
		}
	}
	return jobs, nil
}

// Extend implements relay.Store.
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

// Settle implements relay.Store.
func (s *Store) Settle(ctx context.Context, outcomes []relay.Outcome, now time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	applied, _ := s.settleLocked(outcomes, now)
	return applied, nil
}

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
			verb := r.Verb
			if verb.IsRefused() {
				verb = "" // refused at admission: never retried
			}
			s.ids.dead++
			s.dead = append(s.dead, relay.DeadLetter{ID: s.ids.dead, InboxID: r.ID, Source: r.Source, Ref: r.Ref, Agent: r.Agent,
				Verb: verb, Frame: r.Frame, Code: store.ErrCode(o.Replies), Reason: o.Reason, Attempts: r.Attempts, EnqueuedAt: r.EnqueuedAt, DiedAt: now})
		}
	}
	return applied, finished
}

// Publish implements relay.Store.
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

// Release implements relay.Store.
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
	return nil
}
