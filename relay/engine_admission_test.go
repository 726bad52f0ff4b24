package relay_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ctirelay/ctirelay/relay"
)

// A row refused at intake whose agent has an earlier command at the switch
// is answered after that command's reply and before the next one's, and it
// never reaches the switch. An idle agent's refusal is answered at once.
func TestEngineAnswersRefusedRowsInTheirAgentsOrder(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	r := newRig(t, nil)
	gate := make(chan struct{})
	started := make(chan relay.Command, 10)
	r.driver.Gate, r.driver.Started = gate, started
	r.store.InsertTTI(0, "<ana><A><><40050500><>$")
	r.store.InsertTTI(0, "<ana><Q>$")
	r.store.InsertTTI(0, "<ana><S>$")
	r.store.InsertTTI(0, "<bob><Q>$")
	r.start()
	if c := <-started; c.Verb != relay.VerbDial {
		t.Fatalf("first at the switch: %s", c.Frame)
	}
	bob := `<bob><ERR><UNKNOWN_VERB><unknown verb "Q">$`
	if got := r.tto(); !slices.Equal(got, []string{bob}) {
		t.Fatalf("T_TTO while ana's dial is at the switch = %q, want only bob's ERR", got)
	}
	// A bridge admits with its own, smaller limit: its refusal holds, even
	// though the engine's limit would take the frame.
	big := "<ana><P><ON><123456789>$"
	res, err := r.store.Enqueue(context.Background(), []relay.Inbound{{Source: relay.SourceSocket, Ref: "c1", Raw: big}}, epoch, len(big)-1)
	if err != nil || len(res) != 1 || res[0].ID == 0 || res[0].Err != nil {
		t.Fatalf("Enqueue behind ana's dial = %+v, %v; want queued, its ERR to come as its reply", res, err)
	}
	close(gate)
	r.until("four replies", 0, func() bool { return len(r.store.TTO()) == 4 })
	r.until("the socket's reply", 0, func() bool {
		j, _ := r.store.Journal(context.Background(), 0, 100)
		return slices.ContainsFunc(j, func(e relay.JournalEntry) bool { return e.InboxID == res[0].ID && e.Kind == relay.KindReply })
	})
	j, _ := r.store.Journal(context.Background(), 0, 100)
	var reply string
	for _, e := range j {
		if e.InboxID == res[0].ID && e.Kind == relay.KindReply {
			reply = e.Frame
		}
	}
	if want := "<ana><ERR><TOO_LARGE><frame of 24 bytes is over the 23-byte limit>$"; reply != want {
		t.Fatalf("reply to the socket's oversized frame = %q, want %q", reply, want)
	}
	want := []string{bob, "<ana><OK>$", `<ana><ERR><UNKNOWN_VERB><unknown verb "Q">$`, "<ana><S><1>$"}
	if got := r.tto(); !slices.Equal(got, want) {
		t.Fatalf("T_TTO = %q, want %q", got, want)
	}
	var sent []string
	for _, c := range r.driver.Calls() {
		sent = append(sent, c.Frame.String())
	}
	if !slices.Equal(sent, []string{"<ana><A><><40050500><>$", "<ana><S>$"}) {
		t.Fatalf("the switch saw %q; the refused row must never reach it", sent)
	}
	dead, err := r.store.DeadLetters(context.Background(), 0, 10)
	if err != nil || len(dead) != 3 {
		t.Fatalf("dead letters %+v, %v", dead, err)
	}
	if d := dead[1]; d.Agent != "ana" || d.Verb != "" || d.InboxID == 0 || d.Code != relay.CodeUnknownVerb || d.Reason != `UNKNOWN_VERB: unknown verb "Q"` {
		t.Fatalf("ana's refused row in relay_dead: %+v", d)
	}
	if s := r.engine.Stats(); s.Dead != 2 || s.Done != 2 {
		t.Fatalf("stats %+v: the held refusal counts as dead, the two commands as done", s)
	}
}

// A held refusal whose relay died holding it never reached the switch:
// reclaimed, it is answered with its ERR, not IN_DOUBT.
func TestEngineReclaimedRefusalIsAnsweredWithItsERR(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	r := newRig(t, func(c *relay.EngineConfig) { c.Lease = 3 * time.Second })
	ctx := context.Background()
	r.store.InsertTTI(0, "<ana><S>$")
	r.store.InsertTTI(0, "<ana><L><MAYBE>$")
	if _, _, err := r.store.Intake(ctx, relay.IntakeRequest{Limit: 10, Now: epoch}, relay.ClaimRequest{}); err != nil {
		t.Fatal(err)
	}
	// Another relay answers the S, takes the refused row and dies.
	lease := relay.ClaimRequest{Owner: "dead-node", Limit: 10, Now: epoch, LeaseUntil: epoch.Add(time.Second)}
	held, err := r.store.Claim(ctx, lease)
	if err != nil || len(held) != 1 {
		t.Fatalf("claim = %v, %v", held, err)
	}
	if _, _, err := r.store.Settle(ctx, []relay.Outcome{{Job: held[0], Kind: relay.Done, Replies: []relay.Frame{relay.StatusReply("ana", relay.StateAvailable)}}}, epoch, relay.ClaimRequest{}); err != nil {
		t.Fatal(err)
	}
	if held, err = r.store.Claim(ctx, lease); err != nil || len(held) != 1 || held[0].Refusal() == nil {
		t.Fatalf("claim of the refused row = %+v, %v", held, err)
	}
	r.start()
	r.until("the ERR", time.Second, func() bool { return len(r.store.TTO()) == 2 })
	want := []string{"<ana><S><1>$", "<ana><ERR><BAD_ARGS><L: expected <ON) or <OFF)>$"}
	if got := r.tto(); !slices.Equal(got, want) {
		t.Fatalf("T_TTO = %q, want %q", got, want)
	}
	if calls := r.driver.Calls(); len(calls) != 0 {
		t.Fatalf("the switch saw %v", calls)
	}
}

// One rule for spaces around the login: `< ana >` is ana for the queue, for
// the switch and in the reply.
func TestEngineSendsTheLoginTrimmed(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	r := newRig(t, nil)
	r.store.InsertTTI(0, "< ana\t><L><ON>$")
	r.store.InsertTTI(0, "<ana><S>$")
	r.start()
	r.until("two replies", 0, func() bool { return len(r.store.TTO()) == 2 })
	if got, want := r.tto(), []string{"<ana><OK>$", "<ana><S><1>$"}; !slices.Equal(got, want) {
		t.Fatalf("T_TTO = %q, want %q", got, want)
	}
	calls := r.driver.Calls()
	if len(calls) != 2 || calls[0].Login != "ana" || calls[0].Frame.String() != "<ana><L><ON>$" {
		t.Fatalf("the switch saw %+v, want the login without its spaces", calls)
	}
}
