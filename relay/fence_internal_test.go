package relay

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"testing"
	"time"
)

// probeScript answers each InFlight with the next step's leases or error.
type probeScript struct {
	steps []probeStep
	asked [][]string
}

type probeStep struct {
	leases []Lease
	err    error
}

func (p *probeScript) InFlight(_ context.Context, agents []string, owner string) ([]Lease, error) {
	if owner != "me" {
		panic("the fence must exclude its own leases: owner " + owner)
	}
	p.asked = append(p.asked, slices.Clone(agents))
	s := p.steps[0]
	p.steps = p.steps[1:]
	return s.leases, s.err
}

func TestEventFence(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	a1, b1 := NewFrame("jose", "A", "1"), NewFrame("Jose", "G", "rec")
	m1 := NewFrame("maria", "R", "1")
	dial := Lease{ID: 7, Attempts: 1, Agent: "jose"}
	next := Lease{ID: 8, Attempts: 1, Agent: "jose"}
	type call struct {
		events []Frame
		after  time.Duration
		probe  probeStep
		want   []Frame
	}
	for _, tc := range []struct {
		name  string
		calls []call
	}{
		{"nothing in flight: at once", []call{
			{events: []Frame{a1, m1}, want: []Frame{a1, m1}},
		}},
		{"held until the command in flight at arrival is settled, not for the one leased after", []call{
			{events: []Frame{a1, m1}, probe: probeStep{leases: []Lease{dial}}, want: []Frame{m1}},
			{after: time.Second, probe: probeStep{leases: []Lease{dial}}},
			{after: time.Second, probe: probeStep{leases: []Lease{next}}, want: []Frame{a1}},
		}},
		{"a later event of the agent waits behind the held one", []call{
			{events: []Frame{a1}, probe: probeStep{leases: []Lease{dial}}},
			{events: []Frame{b1}, probe: probeStep{leases: []Lease{dial}}},
			{probe: probeStep{}, want: []Frame{a1, b1}},
		}},
		{"a retried attempt is another lease", []call{
			{events: []Frame{a1}, probe: probeStep{leases: []Lease{dial}}},
			{probe: probeStep{leases: []Lease{{ID: 7, Attempts: 2, Agent: "jose"}}}, want: []Frame{a1}},
		}},
		{"never longer than the bound", []call{
			{events: []Frame{a1}, probe: probeStep{leases: []Lease{dial}}},
			{after: 10 * time.Second, probe: probeStep{leases: []Lease{dial}}, want: []Frame{a1}},
		}},
		{"the database cannot tell: held, the snapshot taken at the next answer", []call{
			{events: []Frame{a1}, probe: probeStep{err: errors.New("down")}},
			{after: time.Second, probe: probeStep{leases: []Lease{dial}}},
			{after: time.Second, probe: probeStep{}, want: []Frame{a1}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := &probeScript{}
			for _, c := range tc.calls {
				p.steps = append(p.steps, c.probe)
			}
			fc := eventFence{probe: p, owner: "me", bound: 10 * time.Second, log: slog.New(slog.DiscardHandler)}
			now := t0
			for i, c := range tc.calls {
				now = now.Add(c.after)
				got := fc.admit(context.Background(), c.events, now)
				if !slices.EqualFunc(got, c.want, slices.Equal) {
					t.Fatalf("call %d: admitted %q, want %q", i, got, c.want)
				}
			}
			if len(p.steps) != 0 {
				t.Fatalf("%d probes not made", len(p.steps))
			}
			if fc.holding() {
				t.Fatalf("still holding %d events", len(fc.held))
			}
		})
	}
}
