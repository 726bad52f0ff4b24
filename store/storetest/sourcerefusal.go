package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

func init() {
	register("SourceRefusalsKeepTheAgentsOrder", sourceRefusals)
}

// A message a bridge refuses itself (Inbound.Refusal: a spool file that is
// not frames, a frame for a login bound to another user) is recorded as an
// admission refusal: held behind the earlier commands of the login it
// answers (Inbound.Agent), so its ERR comes after their replies and before
// those of later ones, and journaled as a reply; answered at once when that
// login has nothing unfinished; dead-lettered only when nobody can be
// answered.
func sourceRefusals(t *testing.T, e *env) {
	dial, status := "<ana><A><><40050500><>$", "<ana><S>$"
	bound := &relay.ProtocolError{Code: relay.CodeRejected, Message: "login bob is bound to another user"}
	garbage := &relay.ProtocolError{Code: relay.CodeMalformed, Message: "not Tactium frames"}
	got := e.enqueue(t, t0,
		relay.Inbound{Source: relay.SourceFile, Ref: "000001/a#1", Raw: dial},
		relay.Inbound{Source: relay.SourceFile, Ref: "000001/a#2", Raw: "<bob><S>$", Refusal: bound, Agent: "ana"},
		relay.Inbound{Source: relay.SourceFile, Ref: "000001/a#3", Raw: status},
		relay.Inbound{Source: relay.SourceFile, Ref: "000002/b", Raw: "<cara>junk", Refusal: garbage, Agent: "cara"},
		relay.Inbound{Source: relay.SourceFile, Ref: "000003/c", Raw: "<dan>junk", Refusal: garbage})
	if got[0].Err != nil || got[1].Err != nil || got[1].ID <= got[0].ID || got[2].ID <= got[1].ID {
		t.Fatalf("Enqueue behind ana's dial: %+v (the refusal must be held, its ERR to come as its reply)", got)
	}
	if got[3].ID != 0 || got[3].Err == nil || *got[3].Err != *garbage || got[4].ID != 0 || got[4].Err == nil {
		t.Fatalf("Enqueue of refusals nothing holds back: %+v, want refused at once", got[3:])
	}
	var order []string
	for step := 1; ; step++ {
		now := at(time.Duration(step) * time.Second)
		jobs := e.claim(t, "r1", 10, now, now.Add(time.Minute))
		if len(jobs) == 0 {
			break
		}
		j := jobs[0]
		o, refused := relay.RefusedOutcome(j)
		if !refused {
			o = relay.Outcome{Job: j, Kind: relay.Done, Replies: []relay.Frame{relay.OK("ana")}}
		}
		order = append(order, j.Frame)
		e.settle(t, now, o)
	}
	equal(t, "ana's queue", order, []string{dial, "<bob><S>$", status})
	var replies []string
	for _, j := range e.journal(t) {
		if j.Kind == relay.KindReply {
			replies = append(replies, j.Ref+" "+j.Frame)
		}
	}
	equal(t, "the replies journaled, with their origin's reference", replies, []string{
		"000002/b <cara><ERR><MALFORMED><not Tactium frames>$",
		"000001/a#1 <ana><OK>$",
		"000001/a#2 <ana><ERR><REJECTED><login bob is bound to another user>$",
		"000001/a#3 <ana><OK>$",
	})
	dead := e.dead(t)
	refs := make([]string, 0, len(dead))
	for _, d := range dead {
		refs = append(refs, d.Ref+" "+d.Agent+" "+d.Code)
	}
	slices.Sort(refs)
	equal(t, "relay_dead", refs, []string{"000001/a#2 ana REJECTED", "000002/b cara MALFORMED", "000003/c  MALFORMED"})
}
