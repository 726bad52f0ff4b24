package crm

import (
	"strings"

	"github.com/ctirelay/ctirelay/relay"
)

// SetEventID marks the R events that Divalto's setevent published: the
// call id field of the frame, so "pop on CTI request" can tell them apart.
const SetEventID = "setevent"

// What a call does, as the pop consumers see it.
const (
	evRing    = "ring"
	evAnswer  = "answer"
	evHangup  = "hangup"
	evOutgo   = "outgoing" // an outgoing call reached the agent (A)
	evAudio   = "audio"
	evUnknown = ""
)

// call is what the journal has said of an agent's current call.
type call struct {
	inbound  bool
	caller   string // who calls (the agent's extension on an outgoing call)
	dest     string // who is called
	audio    string
	answered bool
	fromCTI  bool   // published by setevent
	ident    string // setevent's ident (the R's external id)
	pop      Pop    // the rules' decision, for inbound calls
}

// tracker follows each agent's calls through its events (R, A, G,
// EndCall). Used from one subscriber goroutine: no lock.
type tracker struct{ calls map[string]*call }

func newTracker() *tracker { return &tracker{calls: map[string]*call{}} }

// apply reads one event entry: what it does to the agent's call, the call,
// and for a ring whether the agent was already on another call.
func (t *tracker) apply(e relay.JournalEntry) (what, login string, c *call, busy bool) {
	if e.Kind != relay.KindEvent {
		return evUnknown, "", nil, false
	}
	f, err := relay.Parse(e.Frame)
	if err != nil {
		return evUnknown, "", nil, false
	}
	login = strings.TrimSpace(f.Login())
	key := strings.ToLower(login)
	cur := t.calls[key]
	switch f.Verb() {
	case "R":
		rc := relay.ParseReceptiveCall(f)
		busy = cur != nil
		c = &call{inbound: true, caller: rc.OriginDDD + rc.Origin, dest: rc.DestDDD + rc.Dest, fromCTI: rc.ID == SetEventID}
		if c.fromCTI {
			c.ident = rc.ExternalID
		}
		t.calls[key] = c
		return evRing, login, c, busy
	case "A":
		if cur != nil && cur.inbound && !cur.answered {
			cur.answered = true
			return evAnswer, login, cur, false
		}
		ac := relay.ParseActiveCall(f)
		c = &call{caller: ac.OriginDDD + ac.Origin, dest: ac.DestDDD + ac.Dest, answered: true, audio: ac.RecordingLink}
		t.calls[key] = c
		return evOutgo, login, c, cur != nil
	case "G":
		if cur == nil {
			return evUnknown, login, nil, false
		}
		cur.audio = f.Arg(0)
		return evAudio, login, cur, false
	case "EndCall":
		delete(t.calls, key)
		if cur == nil {
			return evUnknown, login, nil, false
		}
		return evHangup, login, cur, false
	}
	return evUnknown, login, nil, false
}
