package crm_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/bridges/crm"
	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest"
	"github.com/ctirelay/ctirelay/relay/sim"
)

// A Divalto-style poller sees ring for an inbound call of the simulated
// switch (inbound_per_minute), with the caller the switch's R carried.
func TestDivaltoSimInboundCall(t *testing.T) {
	clock := relaytest.NewClock(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	sw, err := sim.New(sim.Config{Seed: 7, InboundPerMinute: 60, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	r := newRig(t, sim.NewDriver(sw))
	_, base := r.divalto(func(d *crm.Divalto) { d.Agents = map[string]string{"jose": "7001"} })
	pend, err := r.feed.Submit(context.Background(), []relay.Inbound{{Source: relay.SourceCLI, Raw: "<jose><L><ON>$"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pend[0].Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	var caller string
	r.until("a sim inbound call", func() bool {
		clock.Advance(time.Second)
		j, _ := r.store.Journal(context.Background(), 0, 1000)
		for _, e := range j {
			if f, err := relay.Parse(e.Frame); err == nil && f.Verb() == "R" {
				c := relay.ParseReceptiveCall(f)
				caller = c.OriginDDD + c.Origin
				return true
			}
		}
		return false
	})
	var got map[string]string
	if err := json.Unmarshal([]byte(poll(t, base, "7001")), &got); err != nil {
		t.Fatal(err)
	}
	if got["event"] != "ring" || got["tel"] != caller {
		t.Fatalf("getevent = %v, want ring from %s", got, caller)
	}
}
