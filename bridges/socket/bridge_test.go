package socket

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store/memstore"
)

func TestCommandsGoThroughTheQueue(t *testing.T) {
	t.Parallel()
	r := newRig(t, Config{Node: "relay-1"})
	c := r.dial()
	c.send("<jose><S>$")
	j := r.answer("<jose><S>$", relay.StatusReply("jose", relay.StateLoggedOff))
	c.expect("<jose><S><0>$")
	local := c.nc.LocalAddr().String()
	if want := "relay-1/1@" + local; j.Ref != want || j.Agent != "jose" || j.Verb != relay.VerbStatus {
		t.Fatalf("queued %+v, want ref %q", j, want)
	}
	// Each command waits for its own reply, in order.
	c.send("<jose><L><ON>$<jose><P><ON><1>$")
	r.answer("<jose><L><ON>$", relay.OK("jose"))
	c.expect("<jose><OK>$")
	r.answer("<jose><P><ON><1>$", relay.ErrReply("jose", relay.CodeNotLoggedOn, "jose is not logged on"))
	c.expect("<jose><ERR><NOT_LOGGED_ON><jose is not logged on>$")
}

func TestOneCommandSeveralReplies(t *testing.T) {
	t.Parallel()
	// One journal entry per read: the replies of one command span reads.
	r := newRig(t, Config{Batch: 1})
	c := r.dial()
	c.send("<jose><AC>$")
	call := relay.ActiveCall{Login: "jose", Origin: "7001", DestDDD: "85", Dest: "40050500"}.Frame()
	r.answer("<jose><AC>$", call, relay.Recording("jose", `c:\r.wav`))
	c.expect(call.String() + `<jose><G><c:\r.wav>$`)
	c.send("<jose><S>$")
	r.answer("<jose><S>$", relay.StatusReply("jose", relay.StateBusy))
	c.expect("<jose><S><3>$")
}

func TestRejectedFramesAreAnsweredAndDeadLettered(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, send, want, dead string
	}{
		{"unknown verb", "<jose><XYZ>$", `<jose><ERR><UNKNOWN_VERB><unknown verb "XYZ">$`, `UNKNOWN_VERB: unknown verb "XYZ"`},
		{"bad arguments", "<jose><P><ON>$", "<jose><ERR><BAD_ARGS><P: expected <ON)<code) or <OFF)>$", "BAD_ARGS: P: expected <ON><code> or <OFF>"},
		{"over the queue's limit", "<jose><A><><" + strings.Repeat("9", 40) + "><>$", "<jose><ERR><TOO_LARGE><frame of 56 bytes is over the 32-byte limit>$", "TOO_LARGE: frame of 56 bytes is over the 32-byte limit"},
		{"blank login", "< ><S>$", "<><ERR><MALFORMED><the first field (agent login) is empty>$", "MALFORMED: the first field (agent login) is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := memstore.New()
			r := newRig(t, Config{Store: s, MaxFrame: 32})
			c := r.dial()
			c.roundTrip(tt.send, tt.want)
			dead, err := s.DeadLetters(context.Background(), 0, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(dead) != 1 || dead[0].Source != relay.SourceSocket || dead[0].Reason != tt.dead || !strings.HasPrefix(dead[0].Ref, "1@") {
				t.Fatalf("relay_dead = %+v, want one socket row with %q", dead, tt.dead)
			}
			if s.InboxLen() != 0 {
				t.Fatal("a rejected frame reached the inbox")
			}
			// The connection is kept.
			c.send("<jose><S>$")
			r.answer("<jose><S>$", relay.StatusReply("jose", relay.StateAvailable))
			c.expect("<jose><S><1>$")
		})
	}
}

func TestEventsReachTheirAgentAndMonitors(t *testing.T) {
	t.Parallel()
	r := newRig(t, Config{})
	jose, ana, admin, other := r.dial(), r.dial(), r.dial(), r.dial()
	jose.send("<Jose><L><ON>$")
	r.answer("<Jose><L><ON>$", relay.OK("Jose"))
	jose.expect("<Jose><OK>$")
	ana.send("<ana><S>$")
	r.answer("<ana><S>$", relay.StatusReply("ana", relay.StateAvailable))
	ana.expect("<ana><S><1>$")
	admin.roundTrip("<ADMSOCKET><L><ON>$", "<ADMSOCKET><OK>$")
	other.send("<maria><XYZ>$") // not bound by a rejected frame
	other.expect(`<maria><ERR><UNKNOWN_VERB><unknown verb "XYZ">$`)

	events := []relay.Frame{
		relay.ReceptiveCall{Login: "jose", OriginDDD: "85", Origin: "40050500", Dest: "7001"}.Frame(),
		relay.EndCall("ana"),
		relay.Recording("maria", `c:\m.wav`),
		relay.EndCall("JOSE"),
	}
	r.publish(events...)
	jose.expect(events[0].String() + events[3].String())
	ana.expect(events[1].String())
	admin.expect(events[0].String() + events[1].String() + events[2].String() + events[3].String())
	// Nothing else was sent: the next frame each reads is the next event.
	r.publish(relay.EndCall("maria"), relay.EndCall("ana"), relay.EndCall("jose"))
	jose.expect("<jose><EndCall>$")
	ana.expect("<ana><EndCall>$")
	other.send("<maria><S>$")
	r.answer("<maria><S>$", relay.StatusReply("maria", relay.StateAvailable))
	other.expect("<maria><S><1>$") // bound now, after the events
	admin.expect("<maria><EndCall>$<ana><EndCall>$<jose><EndCall>$")
}

func TestReplyComesBeforeTheEventsItCaused(t *testing.T) {
	t.Parallel()
	s := memstore.New()
	r := newRig(t, Config{Store: s})
	c := r.dial()
	c.send("<jose><L><ON>$")
	r.answer("<jose><L><ON>$", relay.OK("jose"))
	c.expect("<jose><OK>$")
	for i := range 20 {
		dial := fmt.Sprintf("<jose><A><85><4005%04d><>$", i)
		c.send(dial)
		// The engine writes the reply, then the events, as the switch
		// produced them; the bridge may read them in one batch.
		j := r.answer(dial, relay.OK("jose"))
		call := relay.ActiveCall{Login: "jose", Origin: "7001", DestDDD: "85", Dest: j.Frame[13:21]}.Frame()
		r.publish(call, relay.EndCall("jose"))
		c.expect("<jose><OK>$" + call.String() + "<jose><EndCall>$")
	}
}

func TestQuiesceRefusesNewCommands(t *testing.T) {
	t.Parallel()
	s := memstore.New()
	r := newRig(t, Config{Store: s})
	c := r.dial()
	c.roundTrip("<ADMSOCKET><L><ON>$", "<ADMSOCKET><OK>$")
	r.b.Quiesce()
	c.roundTrip("<jose><D>$", "<jose><ERR><SHUTDOWN><the relay is stopping and did not take the command: send it again once it is back>$")
	if s.InboxLen() != 0 {
		t.Fatal("a command was queued while stopping")
	}
	r.publish(relay.EndCall("jose")) // events still flow
	c.expect("<jose><EndCall>$")
}

func TestStopDeliversWhatTheEngineWrote(t *testing.T) {
	t.Parallel()
	r := newRig(t, Config{})
	admin, jose := r.dial(), r.dial()
	admin.roundTrip("<ADMSOCKET><L><ON>$", "<ADMSOCKET><OK>$")
	jose.send("<jose><S>$")
	j := r.claim("<jose><S>$") // claimed, answered below, as the engine finishes it while stopping
	r.b.Quiesce()
	if _, err := r.engine().Settle(context.Background(), []relay.Outcome{{Job: j, Kind: relay.Done,
		Replies: []relay.Frame{relay.StatusReply("jose", relay.StateAvailable)}}}, j.EnqueuedAt); err != nil {
		t.Fatal(err)
	}
	r.publish(relay.EndCall("ana"))
	r.b.Stop()
	r.b.Stop()
	if got := jose.expectClosed(); len(got) != 1 || got[0] != "<jose><S><1>$" {
		t.Fatalf("jose read %q before the close", got)
	}
	if got := admin.expectClosed(); len(got) != 1 || got[0] != "<ana><EndCall>$" {
		t.Fatalf("the monitor read %q before the close", got)
	}
	if err := r.b.Start(context.Background()); err != ErrStopped {
		t.Fatalf("Start after Stop = %v", err)
	}
}

func TestNewNeedsAStore(t *testing.T) {
	t.Parallel()
	if _, err := New(Config{}); err == nil {
		t.Fatal("New without a store succeeded")
	}
	b, err := New(Config{Store: memstore.New()})
	if err != nil {
		t.Fatal(err)
	}
	b.Stop() // never started
	b.Stop()
}
