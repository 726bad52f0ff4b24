package httpbridge

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
)

// fakeHealth is a driver's link as the test sets it.
type fakeHealth struct {
	mu sync.Mutex
	h  relay.DriverHealth
}

func (f *fakeHealth) Health() relay.DriverHealth {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.h
}

func (f *fakeHealth) set(h relay.DriverHealth) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.h = h
}

// /readyz answers 503 with the reason while the switch driver is not
// connected; a driver on standby (another relay holds the switch) or idle
// (its links open on the first command) is ready.
func TestReadyzReportsTheSwitchDriver(t *testing.T) {
	t.Parallel()
	d := &fakeHealth{}
	r := newRig(t, nil, Config{Driver: d})
	since := time.Date(2026, 12, 1, 23, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		h      relay.DriverHealth
		status int
		body   string
	}{
		{"connected", relay.DriverHealth{Connected: true}, 200, `"ready"`},
		{"lost", relay.DriverHealth{LastError: "dial tcp 10.0.0.9:34025: connection refused", Since: since}, 503,
			"switch driver not connected: dial tcp 10.0.0.9:34025: connection refused (since 2026-12-01T23:00:00Z)"},
		{"standby", relay.DriverHealth{Standby: true, Detail: "relay-b holds the switch"}, 200, `"ready"`},
		{"idle", relay.DriverHealth{Idle: true, Detail: "idle: no agent connection yet"}, 200, `"ready"`},
		{"never connected", relay.DriverHealth{}, 503, "switch driver not connected"},
	} {
		d.set(tc.h)
		res := r.do("GET", "/readyz", "", "")
		if res.status != tc.status || !strings.Contains(res.body, tc.body) {
			t.Errorf("%s: %d %s, want %d with %q", tc.name, res.status, res.body, tc.status, tc.body)
		}
	}
}

// The driver's link and the engine's retries, dead letters and in-doubt
// commands are scraped as they are at the time.
func TestMetricsOfTheDriverAndTheEngine(t *testing.T) {
	t.Parallel()
	d := &fakeHealth{}
	var mu sync.Mutex
	stats := relay.EngineStats{}
	r := newRig(t, nil, Config{Driver: d, Engine: func() relay.EngineStats { mu.Lock(); defer mu.Unlock(); return stats }})
	d.set(relay.DriverHealth{Connected: true, Reconnects: 3})
	mu.Lock()
	stats = relay.EngineStats{Retried: 7, Dead: 2, InDoubt: 1}
	mu.Unlock()
	want := `
# HELP ctirelay_commands_in_doubt_total Commands answered ERR IN_DOUBT: the switch may have acted, so they were not sent again (this relay's engine).
# TYPE ctirelay_commands_in_doubt_total counter
ctirelay_commands_in_doubt_total 1
# HELP ctirelay_dead_letters_total Commands dead-lettered and answered ERR (this relay's engine).
# TYPE ctirelay_dead_letters_total counter
ctirelay_dead_letters_total 2
# HELP ctirelay_driver_connected 1 when the switch driver is connected.
# TYPE ctirelay_driver_connected gauge
ctirelay_driver_connected 1
# HELP ctirelay_driver_reconnects_total Switch driver links re-established after a loss.
# TYPE ctirelay_driver_reconnects_total counter
ctirelay_driver_reconnects_total 3
# HELP ctirelay_driver_standby 1 when the switch driver waits while another relay holds the switch.
# TYPE ctirelay_driver_standby gauge
ctirelay_driver_standby 0
# HELP ctirelay_retries_total Commands put back for a retry after a transient failure (this relay's engine).
# TYPE ctirelay_retries_total counter
ctirelay_retries_total 7
`
	names := []string{"ctirelay_commands_in_doubt_total", "ctirelay_dead_letters_total", "ctirelay_driver_connected",
		"ctirelay_driver_reconnects_total", "ctirelay_driver_standby", "ctirelay_retries_total"}
	if err := testutil.GatherAndCompare(r.b.reg, strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}
	d.set(relay.DriverHealth{Reconnects: 4})
	want = strings.Replace(strings.Replace(want, "\nctirelay_driver_connected 1\n", "\nctirelay_driver_connected 0\n", 1),
		"ctirelay_driver_reconnects_total 3", "ctirelay_driver_reconnects_total 4", 1)
	if err := testutil.GatherAndCompare(r.b.reg, strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}
}

// The metrics' journal subscription resumes after lagging: every outcome
// is counted once.
func TestMetricsObserverResumesAfterLagging(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil, Config{observerBuffer: 1})
	ctx := context.Background()
	const n = 50
	msgs := make([]relay.Inbound, n)
	for i := range msgs {
		msgs[i] = relay.Inbound{Source: relay.SourceCLI, Ref: "t", Raw: fmt.Sprintf("<ag%d><S>$", i)}
	}
	if _, err := r.store.Enqueue(ctx, msgs, time.Now(), 0); err != nil {
		t.Fatal(err)
	}
	r.feed.Wake()
	jobs, err := r.store.Claim(ctx, relay.ClaimRequest{Owner: "test", Limit: n, Now: time.Now(), LeaseUntil: time.Now().Add(time.Hour)})
	if err != nil || len(jobs) != n {
		t.Fatalf("claimed %d, %v", len(jobs), err)
	}
	outs := make([]relay.Outcome, n)
	for i, j := range jobs {
		outs[i] = relay.Outcome{Job: j, Kind: relay.Done, Replies: []relay.Frame{relay.OK(j.Agent)}}
	}
	if _, _, err := r.store.Settle(ctx, outs, time.Now(), relay.ClaimRequest{}); err != nil {
		t.Fatal(err)
	}
	r.feed.Wake()
	wait.For(t, "every outcome counted", func() bool {
		return testutil.ToFloat64(r.b.m.commands.WithLabelValues("cli", "S", "ok")) == n
	})
	if err := r.feed.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(r.b.m.commands.WithLabelValues("cli", "S", "ok")); got != n {
		t.Fatalf("%v outcomes counted, want %d", got, n)
	}
}
