package crm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Customer is what a lookup finds for a caller's number.
type Customer struct {
	Code string
	Name string
}

// Lookup finds the customer a number belongs to (store.QueryLookup runs a
// configured SQL query on the ERP's database); found is false when none
// matches.
type Lookup interface {
	Lookup(ctx context.Context, number string) (c Customer, found bool, err error)
}

// DefaultLookupTimeout bounds one lookup when Rules.LookupTimeout is zero.
const DefaultLookupTimeout = 500 * time.Millisecond

// Rules decide whether an incoming call pops (Divalto's "montée de fiche"
// options, applicable to every pop consumer). The zero value pops every
// call.
type Rules struct {
	// Exceptions are numbers that never pop, for every agent (Divalto's
	// "No téléphone Exception" with no collaborator).
	Exceptions []string
	// AgentExceptions are numbers that never pop for one login (the same
	// table with a collaborator code).
	AgentExceptions map[string][]string
	// MinLength: callers with fewer digits do not pop (internal calls).
	MinLength int
	// SkipWhenBusy: no pop while the agent is already on a call.
	SkipWhenBusy bool
	// Lookup, when set, enriches the pop with the customer's code and
	// name, within LookupTimeout.
	Lookup        Lookup
	LookupTimeout time.Duration
	// SuppressNoMatch: no pop when the lookup finds nobody.
	SuppressNoMatch bool
	// Shared, when set, makes every consumer given these rules decide each
	// call once: one lookup and one note per call, whichever consumer sees
	// it first.
	Shared *Decisions
}

// Decisions remembers the rules' decisions for recent calls by the journal
// id of their R event. Its zero value is ready; Journal, when set, takes
// the notes instead of the deciding consumer's.
type Decisions struct {
	Journal Journal

	mu    sync.Mutex
	pops  map[int64]Pop
	order []int64
}

// decisionsKept bounds Decisions: a consumer further behind than this
// decides again.
const decisionsKept = 4096

// WhatPop is the note of a call that pops (the SSE and webhook subscribers
// that ask for pops receive it); WhatPopSuppressed, of one a rule stopped.
const (
	WhatPop           = "pop"
	WhatPopSuppressed = "pop-suppressed"
)

// PopText is a pop note's text: the R's journal id, the caller, the
// agent's extension and the lookup's customer.
type PopText struct {
	EventID   int64        `json:"event_id"`
	Caller    string       `json:"caller"`
	Extension string       `json:"extension"`
	Customer  *PopCustomer `json:"customer,omitempty"`
}

// PopCustomer is the lookup's match in a pop note.
type PopCustomer struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// decide is Decide for the R event of journal id id, to login's extension
// ext, once across the consumers sharing r.Shared; a shared decision that
// pops is noted (WhatPop) so that every subscriber can pop it.
func (r Rules) decide(ctx context.Context, j Journal, id int64, login, ext, caller string, busy bool) Pop {
	d := r.Shared
	if d == nil || id == 0 {
		return r.Decide(ctx, j, login, caller, busy)
	}
	d.mu.Lock()
	defer d.mu.Unlock() // a second consumer waits for the first's lookup
	if p, ok := d.pops[id]; ok {
		return p
	}
	if d.Journal != nil {
		j = d.Journal
	}
	p := r.Decide(ctx, j, login, caller, busy)
	if p.Pop && j != nil {
		t := PopText{EventID: id, Caller: caller, Extension: ext}
		if c := p.Customer; c != nil {
			t.Customer = &PopCustomer{Code: c.Code, Name: c.Name}
		}
		b, _ := json.Marshal(t)
		j.Note(ctx, Note{Agent: login, What: WhatPop, Detail: string(b)})
	}
	if d.pops == nil {
		d.pops = map[int64]Pop{}
	}
	d.pops[id] = p
	d.order = append(d.order, id)
	if len(d.order) > decisionsKept {
		delete(d.pops, d.order[0])
		d.order = d.order[1:]
	}
	return p
}

// The rules a suppressed pop names in the journal (their config keys).
const (
	RuleException      = "exceptions"
	RuleAgentException = "agent_exceptions"
	RuleMinLength      = "min_length"
	RuleBusy           = "skip_when_busy"
	RuleNoMatch        = "suppress_no_match"
)

// Pop is the decision for one incoming call.
type Pop struct {
	Pop      bool
	Rule     string    // the rule that suppressed it
	Customer *Customer // the lookup's match, if any
	// LookupErr is why the lookup failed or timed out: the call pops
	// without enrichment.
	LookupErr error
}

// digits keeps a number's digits (and a leading +): what the rules compare.
func digits(s string) string {
	var b strings.Builder
	for i, r := range strings.TrimSpace(s) {
		if r >= '0' && r <= '9' || r == '+' && i == 0 {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Check validates the rules, naming the key at fault under prefix.
func (r Rules) Check(prefix string) error {
	var errs []error
	if r.MinLength < 0 {
		errs = append(errs, fmt.Errorf("%smin_length: must not be negative", prefix))
	}
	if r.LookupTimeout < 0 {
		errs = append(errs, fmt.Errorf("%slookup.timeout: must not be negative", prefix))
	}
	if r.SuppressNoMatch && r.Lookup == nil {
		errs = append(errs, fmt.Errorf("%ssuppress_no_match: needs lookup.query", prefix))
	}
	for i, n := range r.Exceptions {
		if digits(n) == "" {
			errs = append(errs, fmt.Errorf("%sexceptions[%d]: %q has no digits", prefix, i, n))
		}
	}
	for agent, ns := range r.AgentExceptions {
		for i, n := range ns {
			if digits(n) == "" {
				errs = append(errs, fmt.Errorf("%sagent_exceptions.%s[%d]: %q has no digits", prefix, agent, i, n))
			}
		}
	}
	return errors.Join(errs...)
}

// Decide says whether a call from caller to login pops; busy is whether
// the agent was already on another call. Suppressions and failed lookups
// are noted in j.
func (r Rules) Decide(ctx context.Context, j Journal, login, caller string, busy bool) Pop {
	num := digits(caller)
	suppress := func(rule, detail string) Pop {
		if j != nil {
			j.Note(ctx, Note{Agent: login, What: WhatPopSuppressed, Rule: rule, Detail: detail})
		}
		return Pop{Rule: rule}
	}
	for _, n := range r.Exceptions {
		if digits(n) == num {
			return suppress(RuleException, "caller "+caller+" is an exception number")
		}
	}
	for agent, ns := range r.AgentExceptions {
		if !strings.EqualFold(agent, login) {
			continue
		}
		for _, n := range ns {
			if digits(n) == num {
				return suppress(RuleAgentException, "caller "+caller+" is an exception number for "+login)
			}
		}
	}
	if r.MinLength > 0 && len(strings.TrimPrefix(num, "+")) < r.MinLength {
		return suppress(RuleMinLength, fmt.Sprintf("caller %q is shorter than %d digits", caller, r.MinLength))
	}
	if r.SkipWhenBusy && busy {
		return suppress(RuleBusy, "the agent is already on a call")
	}
	p := Pop{Pop: true}
	if r.Lookup == nil {
		return p
	}
	timeout := r.LookupTimeout
	if timeout == 0 {
		timeout = DefaultLookupTimeout
	}
	lctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, found, err := r.Lookup.Lookup(lctx, num)
	switch {
	case err != nil:
		p.LookupErr = err
		if j != nil {
			j.Note(ctx, Note{Agent: login, What: "lookup-failed", Rule: "lookup", Detail: "pops without enrichment: " + err.Error()})
		}
	case found:
		p.Customer = &c
	case r.SuppressNoMatch:
		return suppress(RuleNoMatch, "no customer has number "+caller)
	}
	return p
}

// LookupFunc adapts a function to Lookup.
type LookupFunc func(ctx context.Context, number string) (Customer, bool, error)

// Lookup calls fn.
func (fn LookupFunc) Lookup(ctx context.Context, number string) (Customer, bool, error) {
	return fn(ctx, number)
}
