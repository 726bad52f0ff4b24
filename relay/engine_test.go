package relay_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest"
	"github.com/ctirelay/ctirelay/store/memstore"
)

var epoch = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)

type rig struct {
	t      *testing.T
	store  *memstore.Store
	driver *relaytest.Driver
	clock  *relaytest.Clock
	engine *relay.Engine
}

func newRig(t *testing.T, tune func(*relay.EngineConfig)) *rig {
	t.Helper()
	r := &rig{t: t, store: memstore.New(), driver: &relaytest.Driver{}, clock: relaytest.NewClock(epoch)}
	cfg := relay.EngineConfig{
		Node: "node-a", Store: r.store, Driver: r.driver, Clock: r.clock,
		Backoff: relay.Backoff{Base: time.Second, Max: 8 * time.Second, Rand: func() float64 { return 0 }},
	}
	if tune != nil {
		tune(&cfg)
	}
	e, err := relay.NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.engine = e
	return r
}

func (r *rig) start() {
	r.t.Helper()
	if err := r.engine.Start(context.Background()); err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(r.engine.Stop)
}

// until polls cond, nudging the fake clock by step so polls and retries fire.
func (r *rig) until(what string, step time.Duration, cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			r.t.Fatalf("timed out waiting for %s", what)
		}
		if step > 0 {
			r.clock.Advance(step)
		}
		time.Sleep(time.Millisecond) // yield to the engine's goroutines; not waiting for time to pass
	}
}

func (r *rig) tto() []string {
	var out []string
	for _, row := range r.store.TTO() {
		out = append(out, row.Text)
	}
	return out
}

func TestEngineAnswersERPRowsInOrder(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	r := newRig(t, nil)
	r.store.InsertTTI(1, "<jose><L><ON>$")
	r.store.InsertTTI(2, "<maria><L><ON>$")
	r.store.InsertTTI(3, "<jose><S>$")
	r.start()
	r.until("three replies", 0, func() bool { return len(r.store.TTO()) == 3 })
	got := r.tto()
	want := []string{"<jose><OK>$", "<maria><OK>$", "<jose><S><1>$"}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Fatalf("T_TTO = %q, missing %q", got, w)
		}
	}
	if slices.Index(got, "<jose><OK>$") > slices.Index(got, "<jose><S><1>$") {
		t.Fatalf("jose's replies out of order: %q", got)
	}
	if n := r.store.InboxLen(); n != 0 {
		t.Fatalf("inbox still holds %d", n)
	}
	r.engine.Stop()
	if r.driver.Closed() != 1 {
		t.Fatalf("driver closed %d times, want 1", r.driver.Closed())
	}
}

func TestEngineKeepsPerAgentOrderWhileAgentsRunInParallel(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	r := newRig(t, nil)
	gate := make(chan struct{})
	started := make(chan relay.Command, 100)
	r.driver.Gate, r.driver.Started = gate, started
	for i := 1; i <= 5; i++ {
		r.store.InsertTTI(0, fmt.Sprintf("<jose><P><ON><%d>$", i))
		r.store.InsertTTI(0, fmt.Sprintf("<maria><P><ON><%d>$", i))
	}
	r.start()
	// Both agents' first commands reach the switch together; nothing more.
	first := []string{(<-started).Frame.String(), (<-started).Frame.String()}
	slices.Sort(first)
	if want := []string{"<jose><P><ON><1>$", "<maria><P><ON><1>$"}; !slices.Equal(first, want) {
		t.Fatalf("first commands at the switch = %q, want %q", first, want)
	}
	select {
	case c := <-started:
		t.Fatalf("%s reached the switch while its agent's previous command was still there", c.Frame)
	case <-time.After(50 * time.Millisecond):
	}
	close(gate)
	r.until("ten replies", 0, func() bool { return len(r.store.TTO()) == 10 })
	if m := r.driver.MaxConcurrentPerLogin(); m != 1 {
		t.Fatalf("an agent had %d commands at the switch at once", m)
	}
	var jose []string
	for _, c := range r.driver.Calls() {
		if c.Login == "jose" {
			jose = append(jose, c.Arg(1))
		}
	}
	if want := []string{"1", "2", "3", "4", "5"}; !slices.Equal(jose, want) {
		t.Fatalf("jose's commands reached the switch as %v, want %v", jose, want)
	}
}

func TestEngineRetriesTransientFailuresKeepingOrder(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	r := newRig(t, nil)
	fails := 2
	r.driver.Handle = func(_ context.Context, c relay.Command) ([]relay.Frame, error) {
		if c.Verb == relay.VerbLogon && fails > 0 {
			fails--
			return nil, relay.Transient(errors.New("switch unreachable"))
		}
		return []relay.Frame{relay.OK(c.Login)}, nil
	}
	r.store.InsertTTI(0, "<jose><L><ON>$")
	r.store.InsertTTI(0, "<jose><P><OFF>$")
	r.start()
	r.until("both replies", 500*time.Millisecond, func() bool { return len(r.store.TTO()) == 2 })
	var verbs []relay.Verb
	for _, c := range r.driver.Calls() {
		verbs = append(verbs, c.Verb)
	}
	if want := []relay.Verb{"L", "L", "L", "P"}; !slices.Equal(verbs, want) {
		t.Fatalf("switch saw %v, want %v (P must wait for L's retries)", verbs, want)
	}
	if got := r.engine.Stats().Retried; got != 2 {
		t.Fatalf("retried %d, want 2", got)
	}
}

func TestEngineDeadLettersAfterRetryLimit(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	r := newRig(t, func(c *relay.EngineConfig) { c.MaxAttempts = 3 })
	r.driver.Handle = func(context.Context, relay.Command) ([]relay.Frame, error) {
		return nil, relay.Transient(errors.New("connection refused"))
	}
	r.store.InsertTTI(0, "<jose><A><85><40050500><>$")
	r.start()
	r.until("the ERR reply", time.Second, func() bool { return len(r.store.TTO()) == 1 })
	got := r.tto()[0]
	if !strings.HasPrefix(got, "<jose><ERR><RETRIES_EXHAUSTED><gave up after 3 attempts") {
		t.Fatalf("reply = %q", got)
	}
	dead, _ := r.store.DeadLetters(context.Background(), 0, 10)
	if len(dead) != 1 || !strings.HasPrefix(dead[0].Reason, "retries-exhausted") || dead[0].Attempts != 3 {
		t.Fatalf("dead letters = %+v", dead)
	}
	if n := len(r.driver.Calls()); n != 3 {
		t.Fatalf("switch saw %d attempts, want 3", n)
	}
}

func TestEngineAnswersPermanentFailuresAtOnce(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	r := newRig(t, nil)
	r.driver.Unsupported = map[relay.Verb]bool{relay.VerbCallback: true}
	r.driver.Handle = func(_ context.Context, c relay.Command) ([]relay.Frame, error) {
		return nil, relay.Errorf(relay.CodeNotLoggedOn, "agent %s is not logged on", c.Login)
	}
	r.store.InsertTTI(0, "<jose><P><OFF>$")
	r.store.InsertTTI(0, "<jose><TR><17/08/2010 15:00><><>$")
	r.start()
	r.until("two replies", 0, func() bool { return len(r.store.TTO()) == 2 })
	want := []string{"<jose><ERR><NOT_LOGGED_ON><agent jose is not logged on>$", "<jose><ERR><UNSUPPORTED><the switch cannot do TR>$"}
	if got := r.tto(); !slices.Equal(got, want) {
		t.Fatalf("T_TTO = %q, want %q", got, want)
	}
	dead, _ := r.store.DeadLetters(context.Background(), 0, 10)
	if len(dead) != 1 || dead[0].Reason != "UNSUPPORTED: the switch cannot do TR" {
		t.Fatalf("only the unsupported verb is dead-lettered; got %+v", dead)
	}
	if n := len(r.driver.Calls()); n != 1 {
		t.Fatalf("switch saw %d commands; an unsupported verb must not reach it", n)
	}
}

func TestEngineRejectsBadRowsAndKeepsMoving(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	r := newRig(t, nil)
	r.store.InsertTTI(0, "<jose><XYZ>$")
	r.store.InsertTTI(0, "garbage")
	r.store.InsertTTI(0, "<jose><"+strings.Repeat("x", 100_000)+">$")
	r.store.InsertTTI(0, "<jose><S>$")
	r.start()
	r.until("replies", 0, func() bool { return len(r.store.TTO()) == 3 })
	got := r.tto()
	if !strings.HasPrefix(got[0], "<jose><ERR><UNKNOWN_VERB>") || !strings.HasPrefix(got[1], "<jose><ERR><TOO_LARGE>") || got[2] != "<jose><S><1>$" {
		t.Fatalf("T_TTO = %q", got)
	}
	dead, _ := r.store.DeadLetters(context.Background(), 0, 10)
	if len(dead) != 3 {
		t.Fatalf("want 3 dead letters (unknown verb, garbage, too large), got %d", len(dead))
	}
}

func TestEngineReclaimsExpiredLeases(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	for _, policy := range []relay.InDoubtPolicy{relay.InDoubtDead, relay.InDoubtRetry} {
		t.Run(string(policy), func(t *testing.T) {
			r := newRig(t, func(c *relay.EngineConfig) { c.InDoubt = policy; c.Lease = 3 * time.Second })
			r.store.InsertTTI(0, "<jose><A><85><40050500><>$")
			r.store.InsertTTI(0, "<maria><P><ON><1>$")
			ctx := context.Background()
			// Another relay takes both and dies.
			if _, _, err := r.store.Intake(ctx, relay.IntakeRequest{Limit: 10, Now: epoch}, relay.ClaimRequest{}); err != nil {
				t.Fatal(err)
			}
			held, err := r.store.Claim(ctx, relay.ClaimRequest{Owner: "dead-node", Limit: 10, Now: epoch, LeaseUntil: epoch.Add(time.Second)})
			if err != nil || len(held) != 2 {
				t.Fatalf("claim = %v, %v", held, err)
			}
			r.start()
			r.until("both settled", time.Second, func() bool { return len(r.store.TTO()) == 2 })
			got := r.tto()
			calls := r.driver.Calls()
			switch policy {
			case relay.InDoubtDead:
				if !slices.Contains(got, "<maria><OK>$") || !strings.HasPrefix(got[slices.IndexFunc(got, func(s string) bool { return strings.HasPrefix(s, "<jose>") })], "<jose><ERR><IN_DOUBT>") {
					t.Fatalf("T_TTO = %q: the idempotent pause is retried, the dial is in doubt", got)
				}
				if len(calls) != 1 || calls[0].Login != "maria" {
					t.Fatalf("the in-doubt dial must not be sent again; switch saw %v", calls)
				}
				r.until("the in-doubt dial counted", time.Second, func() bool { return r.engine.Stats().InDoubt == 1 })
			case relay.InDoubtRetry:
				if !slices.Contains(got, "<jose><OK>$") || !slices.Contains(got, "<maria><OK>$") {
					t.Fatalf("T_TTO = %q: both retried", got)
				}
				if n := r.engine.Stats().InDoubt; n != 0 {
					t.Fatalf("%d in doubt counted; both were retried", n)
				}
			}
		})
	}
}

func TestEnginePublishesEvents(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	r := newRig(t, nil)
	r.start()
	r.driver.Emit(context.Background(), relay.NewFrame("jose", "R", "", "85", "32345678", "", "7001", "", ""))
	r.driver.Emit(context.Background(), relay.EndCall("jose"))
	r.until("events", 0, func() bool { return len(r.store.TTO()) == 2 })
	if got, want := r.tto(), []string{"<jose><R><><85><32345678><><7001><><>$", "<jose><EndCall>$"}; !slices.Equal(got, want) {
		t.Fatalf("T_TTO = %q, want %q", got, want)
	}
	j, _ := r.store.Journal(context.Background(), 0, 10)
	if len(j) != 2 || j[0].Kind != relay.KindEvent || j[0].Origin != relay.OriginSwitch {
		t.Fatalf("journal = %+v", j)
	}
}

func TestEngineRidesOutADatabaseOutage(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	r := newRig(t, nil)
	gate := make(chan struct{})
	started := make(chan relay.Command, 1)
	r.driver.Gate, r.driver.Started = gate, started
	r.store.InsertTTI(0, "<jose><S>$")
	r.start()
	<-started
	r.store.SetFail(errors.New("database restarting")) // the switch answers while the database is down
	close(gate)
	r.until("a failed settle", 0, func() bool { return r.clock.Waiters() > 0 && len(r.store.TTO()) == 0 })
	r.clock.Advance(time.Second) // a failing database is retried, not given up on
	r.store.SetFail(nil)
	r.until("the reply", 200*time.Millisecond, func() bool { return len(r.store.TTO()) == 1 })
	if got := r.tto()[0]; got != "<jose><S><1>$" {
		t.Fatalf("reply = %q", got)
	}
}

func TestEngineShutdownSettlesInFlightCommands(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	r := newRig(t, func(c *relay.EngineConfig) { c.ShutdownTimeout = 5 * time.Second })
	started := make(chan relay.Command, 2)
	r.driver.Gate, r.driver.Started = make(chan struct{}), started
	r.store.InsertTTI(0, "<jose><A><85><40050500><>$")
	r.store.InsertTTI(0, "<maria><S>$")
	r.start()
	<-started
	<-started
	stopped := make(chan struct{})
	go func() { r.engine.Stop(); close(stopped) }()
	r.until("shutdown", time.Second, func() bool {
		select {
		case <-stopped:
			return true
		default:
			return false
		}
	})
	ctx := context.Background()
	got := r.tto()
	if len(got) != 1 || !strings.HasPrefix(got[0], "<jose><ERR><IN_DOUBT>") {
		t.Fatalf("T_TTO = %q: the dial cut off by shutdown is in doubt", got)
	}
	// The idempotent status query goes back to the queue for the next start.
	jobs, err := r.store.Claim(ctx, relay.ClaimRequest{Owner: "next", Limit: 10, Now: r.clock.Now(), LeaseUntil: r.clock.Now().Add(time.Minute)})
	if err != nil || len(jobs) != 1 || jobs[0].Frame != "<maria><S>$" {
		t.Fatalf("after shutdown the queue holds %+v (%v), want maria's S", jobs, err)
	}
	r.engine.Stop() // twice is fine
}

func TestEngineTreatsUnansweredCommandsAsInDoubt(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	r := newRig(t, nil)
	var mu sync.Mutex // both agents' commands run at once
	sent := map[relay.Verb]int{}
	r.driver.Handle = func(_ context.Context, c relay.Command) ([]relay.Frame, error) {
		mu.Lock()
		defer mu.Unlock()
		sent[c.Verb]++
		if sent[c.Verb] == 1 {
			return nil, fmt.Errorf("connection lost after sending: %w", relay.ErrInDoubt)
		}
		return []relay.Frame{relay.OK(c.Login)}, nil
	}
	r.store.InsertTTI(0, "<jose><A><85><40050500><>$")
	r.store.InsertTTI(0, "<maria><L><ON>$")
	r.start()
	r.until("both answered", 500*time.Millisecond, func() bool { return len(r.store.TTO()) == 2 })
	got := r.tto()
	if !slices.Contains(got, "<maria><OK>$") {
		t.Fatalf("T_TTO = %q: an idempotent command is retried after an unanswered send", got)
	}
	if !slices.ContainsFunc(got, func(s string) bool {
		return strings.HasPrefix(s, "<jose><ERR><IN_DOUBT><A in doubt: no answer from the switch")
	}) {
		t.Fatalf("T_TTO = %q: an unanswered dial is in doubt", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if sent[relay.VerbDial] != 1 {
		t.Fatalf("the dial reached the switch %d times", sent[relay.VerbDial])
	}
	dead, _ := r.store.DeadLetters(context.Background(), 0, 10)
	if len(dead) != 1 || !strings.HasPrefix(dead[0].Reason, "in-doubt: no answer from the switch") {
		t.Fatalf("dead letters = %+v", dead)
	}
}

func TestEngineWritesAReplyBeforeTheEventsItsCommandCaused(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	r := newRig(t, nil)
	r.driver.Handle = func(ctx context.Context, c relay.Command) ([]relay.Frame, error) {
		// The switch's monitoring connection is faster than the reply.
		r.driver.Emit(ctx, relay.NewFrame(c.Login, "A", "", "", "7001", "85", "40050500", "", "", ""))
		r.driver.Emit(ctx, relay.NewFrame("maria", "R", "", "85", "32345678", "", "7002", "", ""))
		return []relay.Frame{relay.OK(c.Login)}, nil
	}
	r.store.InsertTTI(0, "<jose><A><85><40050500><>$")
	r.start()
	r.until("reply and events", 0, func() bool { return len(r.store.TTO()) == 3 })
	got := r.tto()
	if got[0] != "<maria><R><><85><32345678><><7002><><>$" && got[1] != "<maria><R><><85><32345678><><7002><><>$" {
		t.Fatalf("another agent's event is not held back: %q", got)
	}
	if slices.Index(got, "<jose><OK>$") > slices.Index(got, "<jose><A><><><7001><85><40050500><><><>$") {
		t.Fatalf("T_TTO = %q: the dial's reply must come before its call event", got)
	}
}
