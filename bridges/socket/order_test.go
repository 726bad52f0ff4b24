package socket

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
	"github.com/ctirelay/ctirelay/store/memstore"
)

// A frame refused while its agent has an earlier command queued waits behind
// it: the connection gets its ERR as the reply, once that command is settled.
func TestRefusedFrameAnsweredInItsAgentsOrder(t *testing.T) {
	t.Parallel()
	s := memstore.New()
	r := newRig(t, s, Config{MaxFrame: 32}) // a command, too long for the queue
	x, y := r.dial(), r.dial()
	long := "<ana><A><><" + strings.Repeat("9", 40) + "><>$"
	x.Send("<ana><S>$")
	first := r.claim("<ana><S>$")
	y.Send(long)
	wait.For(t, "the refused frame held in the inbox", func() bool { return s.InboxLen() == 2 })
	if dead, _ := s.DeadLetters(context.Background(), 0, 10); len(dead) != 0 {
		t.Fatalf("dead-lettered before its agent's earlier command was answered: %+v", dead)
	}
	if _, _, err := r.engine().Settle(context.Background(), []relay.Outcome{{Job: first, Kind: relay.Done,
		Replies: []relay.Frame{relay.StatusReply("ana", relay.StateAvailable)}}}, time.Now(), relay.ClaimRequest{}); err != nil {
		t.Fatal(err)
	}
	x.Expect("<ana><S><1>$")
	held := r.claim(long)
	o, ok := relay.RefusedOutcome(held)
	if !ok {
		t.Fatalf("claimed %+v, want the held refusal", held)
	}
	if _, _, err := r.engine().Settle(context.Background(), []relay.Outcome{o}, time.Now(), relay.ClaimRequest{}); err != nil {
		t.Fatal(err)
	}
	y.Expect("<ana><ERR><TOO_LARGE><frame of 55 bytes is over the 32-byte limit>$")
	if dead, _ := s.DeadLetters(context.Background(), 0, 10); len(dead) != 1 || dead[0].Source != relay.SourceSocket || dead[0].Verb != "" {
		t.Fatalf("relay_dead = %+v", dead)
	}
	// y's connection goes on
	y.Send("<ana><S>$")
	r.answer("<ana><S>$", relay.StatusReply("ana", relay.StateAvailable))
	y.Expect("<ana><S><1>$")
}
