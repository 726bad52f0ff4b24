package crm_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/ctirelay/ctirelay/bridges/crm"
	"github.com/ctirelay/ctirelay/relay"
)

// Every ring of a mapped agent is decided once and noted: pop-suppressed
// for an exception number, pop with the call (and the lookup's customer)
// otherwise, even with Divalto deciding the same calls.
func TestPopsNoteEveryDecision(t *testing.T) {
	t.Parallel()
	for _, withDivalto := range []bool{false, true} {
		r := newRig(t, nil)
		shared := &notes{}
		rules := crm.Rules{Exceptions: []string{"0388000000"}, Shared: &crm.Decisions{Journal: shared},
			Lookup: crm.LookupFunc(func(_ context.Context, n string) (crm.Customer, bool, error) {
				return crm.Customer{Code: "C42", Name: "Acme"}, n == "0388202122", nil
			})}
		if withDivalto {
			r.divalto(func(d *crm.Divalto) { d.Rules, d.Agents = rules, map[string]string{"jose": "1024"} })
		}
		p := &crm.Pops{Feed: r.feed, Agents: map[string]string{"jose": "1024"}, Rules: rules}
		if err := p.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Stop)
		r.emit(ring("jose", "0388000000", "1024"))
		r.emit(relay.EndCall("jose"))
		r.emit(ring("maria", "0388202122", "1025")) // not mapped here
		r.emit(relay.EndCall("maria"))
		r.emit(ring("jose", "0388202122", "1024"))
		r.emit(relay.EndCall("jose"))
		r.emit(ring("jose", "0399111111", "1024"))
		if !shared.has(crm.WhatPopSuppressed, crm.RuleException) {
			t.Fatalf("divalto %v: no pop-suppressed note: %+v", withDivalto, shared.all)
		}
		want := map[string]bool{"0388202122": false, "0399111111": false}
		pops := 0
		shared.mu.Lock()
		for _, n := range shared.all {
			if n.What != crm.WhatPop {
				continue
			}
			pops++
			var pt crm.PopText
			if err := json.Unmarshal([]byte(n.Text()), &pt); err != nil {
				t.Fatalf("pop note %q: %v", n.Text(), err)
			}
			if n.Agent != "jose" || pt.Extension != "1024" || pt.EventID == 0 {
				t.Errorf("pop note %+v: %+v", n, pt)
			}
			enriched := pt.Customer != nil && *pt.Customer == crm.PopCustomer{Code: "C42", Name: "Acme"}
			if enriched != (pt.Caller == "0388202122") {
				t.Errorf("pop of %s: customer %+v", pt.Caller, pt.Customer)
			}
			want[pt.Caller] = true
		}
		shared.mu.Unlock()
		if pops != 2 || !want["0388202122"] || !want["0399111111"] {
			t.Errorf("divalto %v: %d pop notes, callers %v (one per call, mapped agents only)", withDivalto, pops, want)
		}
		if withDivalto && r.notes.count() != 0 {
			t.Errorf("divalto noted on its own: %+v", r.notes.all)
		}
	}
}
