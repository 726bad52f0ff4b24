package sim

import (
	"strings"
	"testing"
	"time"
)

// busyConfig has every kind of traffic and timer.
func busyConfig(seed int64) Config {
	return Config{
		Seed: seed, InboundPerMinute: 4, DialerPerMinute: 2,
		RingTime: 3 * time.Second, TalkTime: 40 * time.Second, TalkJitter: 0.5, WrapUp: 10 * time.Second,
		QueueLength: 3, Abandon: 30 * time.Second,
	}
}

// script runs two simulated hours of agents working against a switch and
// returns everything it said: replies and events, in order.
func script(t *testing.T, seed int64) []string {
	h := newHarness(t, busyConfig(seed))
	var out []string
	send := func(raw string) { out = append(out, raw+" -> "+h.send(raw)) }
	for _, login := range []string{"ana", "jose", "maria"} {
		send("<" + login + "><L><ON>$")
	}
	for i := range 1000 {
		h.advance(7 * time.Second)
		out = append(out, h.rec.drain(t)...)
		switch {
		case i%37 == 0:
			send("<jose><P><ON><1>$")
		case i%37 == 10:
			send("<jose><P><OFF>$")
		case i%53 == 0:
			send("<maria><A><11><987654321><Cobranca>$")
		case i%29 == 0:
			send("<ana><D>$")
		case i%31 == 0:
			send("<ana><C><S><OutOfArea>$")
		case i%91 == 5:
			send("<ana><L><OFF>$")
		case i%91 == 20:
			send("<ana><L><ON>$")
		case i%17 == 0:
			send("<maria><AC>$")
		case i%13 == 0:
			send("<jose><POS><OFF>$")
		}
		h.settle()
		out = append(out, h.rec.drain(t)...)
	}
	return out
}

func count(lines []string, verb string) int {
	n := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "<") && strings.Contains(l, "><"+verb+">") && !strings.Contains(l, " -> ") {
			n++
		}
	}
	return n
}

// Same seed, same commands, same clock steps: the same transcript, byte for byte.
func TestDeterminism(t *testing.T) {
	t.Parallel()
	a, b := script(t, 42), script(t, 42)
	if len(a) != len(b) {
		t.Fatalf("transcripts differ in length: %d and %d", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("transcripts differ at line %d:\n%s\n%s", i, a[i], b[i])
		}
	}
	// The run is not trivial: every kind of call happened.
	for verb, least := range map[string]int{"R": 50, "A": 20, "G": 70, "EndCall": 60} {
		if n := count(a, verb); n < least {
			t.Errorf("only %d %s events", n, verb)
		}
	}
	if c := script(t, 43); strings.Join(c, "\n") == strings.Join(a, "\n") {
		t.Error("another seed gave the same transcript")
	}
}

// Events do not depend on how the clock is stepped: one hour in one step or
// in 3600 steps of a second gives the same events.
func TestStepsDoNotMatter(t *testing.T) {
	t.Parallel()
	run := func(step time.Duration) []string {
		h := newHarness(t, busyConfig(9))
		for _, login := range []string{"ana", "jose", "maria"} {
			h.mustSend("<"+login+"><L><ON>$", "<"+login+"><OK>$")
		}
		for elapsed := time.Duration(0); elapsed < time.Hour; elapsed += step {
			h.advance(step)
		}
		h.settle()
		return h.rec.drain(t)
	}
	fine, coarse := run(time.Second), run(time.Hour)
	if strings.Join(fine, "\n") != strings.Join(coarse, "\n") {
		t.Fatalf("stepping changed the events: %d and %d events", len(fine), len(coarse))
	}
	if len(fine) < 100 {
		t.Fatalf("only %d events in an hour", len(fine))
	}
}

// The arrival rates hold over a long run. The RNG is seeded, so the counts
// are fixed: the tolerance is for the Poisson spread, not for flakiness.
func TestArrivalRates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name            string
		inbound, dialer float64
		agents          []string
	}{
		{"nobody logged on", 6, 3, nil},
		{"three agents", 2, 1, []string{"ana", "jose", "maria"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, Config{Seed: 5, InboundPerMinute: tc.inbound, DialerPerMinute: tc.dialer, TalkTime: 30 * time.Second, WrapUp: 5 * time.Second})
			for _, login := range tc.agents {
				h.mustSend("<"+login+"><L><ON>$", "<"+login+"><OK>$")
			}
			const hours = 10
			h.advance(hours * time.Hour)
			st := h.sw.Stats()
			within := func(what string, got int64, perMinute float64) {
				want := perMinute * 60 * hours
				if float64(got) < want*0.95 || float64(got) > want*1.05 {
					t.Errorf("%s: %d in %d hours, want %.0f±5%%", what, got, hours, want)
				}
			}
			within("inbound", st.Inbound, tc.inbound)
			within("dialer", st.Dialer+st.DialerIdle, tc.dialer)
			if st.Inbound != st.InboundConnected+st.Abandoned+st.Busy+int64(st.Waiting) {
				t.Errorf("inbound calls unaccounted for: %+v", st)
			}
			events := h.rec.drain(t)
			if got := int64(count(events, "R")); got != st.InboundConnected {
				t.Errorf("%d R events for %d connected calls", got, st.InboundConnected)
			}
			if tc.agents == nil && (st.InboundConnected != 0 || st.Dialer != 0 || len(events) != 0) {
				t.Errorf("calls reached nobody: %+v, %d events", st, len(events))
			}
		})
	}
}
