package socket

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
	"github.com/ctirelay/ctirelay/store/memstore"
)

func TestCommandsGoThroughTheQueue(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil, Config{Node: "relay-1"})
	c := r.dial()
	c.Send("<jose><S>$")
	j := r.answer("<jose><S>$", relay.StatusReply("jose", relay.StateLoggedOff))
	c.Expect("<jose><S><0>$")
	local := c.Conn().LocalAddr().String()
	if want := "relay-1/1@" + local; j.Ref != want || j.Agent != "jose" || j.Verb != relay.VerbStatus {
		t.Fatalf("queued %+v, want ref %q", j, want)
	}
	// Each command waits for its own reply, in order.
	c.Send("<jose><L><ON>$<jose><P><ON><1>$")
	r.answer("<jose><L><ON>$", relay.OK("jose"))
	c.Expect("<jose><OK>$")
	r.answer("<jose><P><ON><1>$", relay.ErrReply("jose", relay.CodeNotLoggedOn, "jose is not logged on"))
	c.Expect("<jose><ERR><NOT_LOGGED_ON><jose is not logged on>$")
}

func TestOneCommandSeveralReplies(t *testing.T) {
	t.Parallel()
	// One journal entry per read: the replies of one command span reads.
	r := newRig(t, nil, Config{Batch: 1})
	c := r.dial()
	c.Send("<jose><AC>$")
	call := relay.ActiveCall{Login: "jose", Origin: "7001", DestDDD: "85", Dest: "40050500"}.Frame()
	r.answer("<jose><AC>$", call, relay.Recording("jose", `c:\r.wav`))
	c.Expect(call.String() + `<jose><G><c:\r.wav>$`)
	c.Send("<jose><S>$")
	r.answer("<jose><S>$", relay.StatusReply("jose", relay.StateBusy))
	c.Expect("<jose><S><3>$")
}

// A command the queue refuses (here over its frame limit) is dead-lettered
// and answered; frames that are no command at all are answered by the
// server and counted, never written to the database (issue 10 §0c: garbage
// must not cost a write each).
func TestRejectedFramesAreAnswered(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, send, want, dead string
	}{
		{"unknown verb", "<jose><XYZ>$", `<jose><ERR><UNKNOWN_VERB><unknown verb "XYZ">$`, ""},
		{"bad arguments", "<jose><P><ON>$", "<jose><ERR><BAD_ARGS><P: expected <ON)<code) or <OFF)>$", ""},
		{"blank login", "< ><S>$", "<><ERR><MALFORMED><the first field (agent login) is empty>$", ""},
		{"unreadable", "<jose>x<S>$", "<jose><ERR><MALFORMED><malformed frame at byte 6: unexpected 'x' between fields>$", ""},
		{"over the queue's limit", "<jose><A><><" + strings.Repeat("9", 40) + "><>$", "<jose><ERR><TOO_LARGE><frame of 56 bytes is over the 32-byte limit>$", "TOO_LARGE: frame of 56 bytes is over the 32-byte limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := memstore.New()
			r := newRig(t, s, Config{MaxFrame: 32})
			c := r.dial()
			c.RoundTrip(tt.send, tt.want)
			dead, err := s.DeadLetters(context.Background(), 0, 10)
			if err != nil {
				t.Fatal(err)
			}
			if tt.dead == "" {
				j, err := s.Journal(context.Background(), 0, 10)
				if err != nil {
					t.Fatal(err)
				}
				if len(dead) != 0 || len(j) != 0 {
					t.Fatalf("relay_dead = %+v, journal = %+v: a frame with no command was recorded", dead, j)
				}
				if got := r.b.Stats().Malformed; got != 1 {
					t.Fatalf("Stats().Malformed = %d, want 1", got)
				}
			} else if len(dead) != 1 || dead[0].Source != relay.SourceSocket || dead[0].Reason != tt.dead || !strings.HasPrefix(dead[0].Ref, "1@") {
				t.Fatalf("relay_dead = %+v, want one socket row with %q", dead, tt.dead)
			}
			if s.InboxLen() != 0 {
				t.Fatal("a rejected frame reached the inbox")
			}
			// The connection is kept.
			c.Send("<jose><S>$")
			r.answer("<jose><S>$", relay.StatusReply("jose", relay.StateAvailable))
			c.Expect("<jose><S><1>$")
		})
	}
}

func TestEventsReachTheirAgentAndMonitors(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil, Config{})
	jose, ana, admin, other := r.dial(), r.dial(), r.dial(), r.dial()
	jose.Send("<Jose><L><ON>$")
	r.answer("<Jose><L><ON>$", relay.OK("Jose"))
	jose.Expect("<Jose><OK>$")
	ana.Send("<ana><S>$")
	r.answer("<ana><S>$", relay.StatusReply("ana", relay.StateAvailable))
	ana.Expect("<ana><S><1>$")
	admin.RoundTrip("<ADMSOCKET><L><ON>$", "<ADMSOCKET><OK>$")
	other.Send("<maria><XYZ>$") // not bound by a rejected frame
	other.Expect(`<maria><ERR><UNKNOWN_VERB><unknown verb "XYZ">$`)

	events := []relay.Frame{
		relay.ReceptiveCall{Login: "jose", OriginDDD: "85", Origin: "40050500", Dest: "7001"}.Frame(),
		relay.EndCall("ana"),
		relay.Recording("maria", `c:\m.wav`),
		relay.EndCall("JOSE"),
	}
	r.publish(events...)
	jose.Expect(events[0].String() + events[3].String())
	ana.Expect(events[1].String())
	admin.Expect(events[0].String() + events[1].String() + events[2].String() + events[3].String())
	// Nothing else was sent: the next frame each reads is the next event.
	r.publish(relay.EndCall("maria"), relay.EndCall("ana"), relay.EndCall("jose"))
	jose.Expect("<jose><EndCall>$")
	ana.Expect("<ana><EndCall>$")
	other.Send("<maria><S>$")
	r.answer("<maria><S>$", relay.StatusReply("maria", relay.StateAvailable))
	other.Expect("<maria><S><1>$") // bound now, after the events
	admin.Expect("<maria><EndCall>$<ana><EndCall>$<jose><EndCall>$")
}

func TestReplyComesBeforeTheEventsItCaused(t *testing.T) {
	t.Parallel()
	s := memstore.New()
	r := newRig(t, s, Config{})
	c := r.dial()
	c.Send("<jose><L><ON>$")
	r.answer("<jose><L><ON>$", relay.OK("jose"))
	c.Expect("<jose><OK>$")
	for i := range 20 {
		dial := fmt.Sprintf("<jose><A><85><4005%04d><>$", i)
		c.Send(dial)
		// The engine writes the reply, then the events, as the switch
		// produced them; the bridge may read them in one batch.
		j := r.answer(dial, relay.OK("jose"))
		call := relay.ActiveCall{Login: "jose", Origin: "7001", DestDDD: "85", Dest: j.Frame[13:21]}.Frame()
		r.publish(call, relay.EndCall("jose"))
		c.Expect("<jose><OK>$" + call.String() + "<jose><EndCall>$")
	}
}

func TestQuiesceRefusesNewCommands(t *testing.T) {
	t.Parallel()
	s := memstore.New()
	r := newRig(t, s, Config{})
	c := r.dial()
	c.RoundTrip("<ADMSOCKET><L><ON>$", "<ADMSOCKET><OK>$")
	r.b.Quiesce()
	c.RoundTrip("<jose><D>$", "<jose><ERR><SHUTDOWN><the relay is stopping and did not take the command: send it again once it is back>$")
	if s.InboxLen() != 0 {
		t.Fatal("a command was queued while stopping")
	}
	r.publish(relay.EndCall("jose")) // events still flow
	c.Expect("<jose><EndCall>$")
}

func TestStopDeliversWhatTheEngineWrote(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil, Config{})
	admin, jose := r.dial(), r.dial()
	admin.RoundTrip("<ADMSOCKET><L><ON>$", "<ADMSOCKET><OK>$")
	jose.Send("<jose><S>$")
	j := r.claim("<jose><S>$") // claimed, answered below, as the engine finishes it while stopping
	r.b.Quiesce()
	if _, _, err := r.engine().Settle(context.Background(), []relay.Outcome{{Job: j, Kind: relay.Done,
		Replies: []relay.Frame{relay.StatusReply("jose", relay.StateAvailable)}}}, j.EnqueuedAt, relay.ClaimRequest{}); err != nil {
		t.Fatal(err)
	}
	r.publish(relay.EndCall("ana"))
	r.b.Stop()
	r.b.Stop()
	if got := jose.ExpectClosed(); len(got) != 1 || got[0] != "<jose><S><1>$" {
		t.Fatalf("jose read %q before the close", got)
	}
	if got := admin.ExpectClosed(); len(got) != 1 || got[0] != "<ana><EndCall>$" {
		t.Fatalf("the monitor read %q before the close", got)
	}
	if err := r.b.Start(context.Background()); err != ErrStopped {
		t.Fatalf("Start after Stop = %v", err)
	}
}

func TestNewNeedsAFeedOrAStore(t *testing.T) {
	t.Parallel()
	if _, err := New(Config{}); err == nil {
		t.Fatal("New without a feed or a store succeeded")
	}
	feed, err := relay.NewFeed(relay.FeedConfig{Store: memstore.New()})
	if err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []Config{{Store: memstore.New()}, {Feed: feed}} {
		b, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		b.Stop() // never started
		b.Stop()
	}
}

// A delivery that falls behind (its buffer overflows) catches up from the
// last entry it delivered: nothing is lost or repeated.
func TestLaggingDeliveryCatchesUp(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil, Config{Buffer: 2})
	jose := r.dial()
	jose.Send("<jose><L><ON>$")
	r.answer("<jose><L><ON>$", relay.OK("jose"))
	jose.Expect("<jose><OK>$")
	first := r.b.sub.Load()
	r.b.fmu.Lock() // the delivery waits
	var want string
	for i := range 6 {
		f := relay.NewFrame("jose", "G", fmt.Sprint(i))
		want += f.String()
		r.publish(f)
	}
	r.b.feed.Wake()
	wait.For(t, "the delivery to be cut off", func() bool { return first.Err() != nil })
	r.b.fmu.Unlock()
	if !errors.Is(first.Err(), relay.ErrLagged) {
		t.Fatalf("first subscription ended with %v, want ErrLagged", first.Err())
	}
	jose.Expect(want)
	r.publish(relay.EndCall("jose"))
	jose.Expect("<jose><EndCall>$")
}

// A command still waiting for its reply when the bridge (and its feed)
// stops is answered ERR SHUTDOWN before the connection closes.
func TestStopAnswersWaitingCommands(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil, Config{})
	jose := r.dial()
	jose.Send("<jose><S>$")
	r.claim("<jose><S>$") // at the switch; never answered
	r.b.Stop()
	got := jose.ExpectClosed()
	if len(got) != 1 || !strings.HasPrefix(got[0], "<jose><ERR><SHUTDOWN>") {
		t.Fatalf("jose read %q before the close, want ERR SHUTDOWN", got)
	}
}

func TestBridgeLifecycle(t *testing.T) {
	relaytest.StressStartStop(t, func(t *testing.T) relay.Service {
		b, err := New(Config{Store: memstore.New(), Addr: "127.0.0.1:0", PollInterval: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			b.Stop()
			if n := b.Stats().Connections; n != 0 {
				t.Errorf("%d connections after Stop", n)
			}
		})
		return b
	})
}
