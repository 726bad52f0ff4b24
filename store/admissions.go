package store

import (
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// Admissions is what a batch of raw inbound messages becomes: inbox rows for
// the commands admitted, dead letters for the others, ERR replies for the
// ERP's outbound table, and (once the inbox ids are known) the journal.
//
// A refused message whose login can be read and whose agent has an earlier
// command unfinished (in the inbox, or admitted earlier in the batch) is
// held: it becomes an inbox row marked with relay.RefusedVerb, so its ERR is
// answered, and it is dead-lettered, when it reaches the head of its agent's
// queue, after the replies to those earlier commands. Its Result has the
// inbox id and no Err: its ERR comes as its reply.
type Admissions struct {
	Inbox   []InboxRow
	Dead    []DeadRow
	Outbox  []string         // ERR replies to messages from the ERP's table only
	Results []relay.Enqueued // one per message, in order; IDs set by Journal

	now   time.Time
	msgs  []relay.Inbound
	index []int // per message: its Inbox index, or -1-its Dead index
	reply []string
}

// Busy reports which of the agents given have commands in the inbox.
type Busy func(agents []string) (map[string]bool, error)

// Admit runs relay.Admit over msgs. Bridges answer their own clients, so only
// rejected messages from relay.SourceERP get their ERR reply in Outbox. busy
// is asked only about the agents of refused messages that no earlier command
// of the batch holds back; nil means the inbox holds nothing.
func Admit(msgs []relay.Inbound, now time.Time, maxFrame int, busy Busy) (*Admissions, error) {
	ads := make([]relay.Admission, len(msgs))
	admitted := map[string]bool{}
	var ask []string
	asked := map[string]bool{}
	for i, m := range msgs {
		ads[i] = relay.AdmitInbound(m, maxFrame)
		ad := ads[i]
		switch {
		case ad.Err == nil:
			admitted[ad.Agent] = true
		case ad.Reply() != nil && !admitted[ad.Agent] && !asked[ad.Agent]:
			asked[ad.Agent] = true
			ask = append(ask, ad.Agent)
		}
	}
	var inInbox map[string]bool
	if len(ask) > 0 && busy != nil {
		var err error
		if inInbox, err = busy(ask); err != nil {
			return nil, err
		}
	}
	if inInbox == nil {
		inInbox = map[string]bool{}
	}
	a := &Admissions{
		Inbox:   make([]InboxRow, 0, len(msgs)),
		Results: make([]relay.Enqueued, len(msgs)),
		now:     now,
		msgs:    msgs,
		index:   make([]int, len(msgs)),
		reply:   make([]string, len(msgs)),
	}
	queued := inInbox // agents with a command before this message
	for i, m := range msgs {
		ad := ads[i]
		if ad.Err == nil || (ad.Reply() != nil && queued[ad.Agent]) {
			verb := ad.Verb
			if ad.Err != nil {
				verb = relay.RefusedVerb(ad.Err)
			}
			a.index[i] = len(a.Inbox)
			a.Inbox = append(a.Inbox, InboxRow{Source: m.Source, Ref: m.Ref, Agent: ad.Agent, Verb: verb, Frame: m.Raw})
			queued[ad.Agent] = true
			continue
		}
		a.index[i] = -1 - len(a.Dead)
		a.Results[i].Err = ad.Err
		a.Dead = append(a.Dead, DeadRow{Source: m.Source, Ref: m.Ref, Agent: ad.Agent, Frame: m.Raw,
			Code: ad.Err.Code, Reason: ad.Err.Code + ": " + ad.Err.Message, EnqueuedAt: now, DiedAt: now})
		if r := ad.Reply(); r != nil {
			a.reply[i] = r.String()
			if m.Source == relay.SourceERP {
				a.Outbox = append(a.Outbox, a.reply[i])
			}
		}
	}
	return a, nil
}

// Journal sets the Results' ids from the inbox ids the database gave (in
// Inbox order) and returns the batch's journal rows in message order: the
// command taken, or the rejection and (unless held) its ERR reply.
func (a *Admissions) Journal(inboxIDs []int64) []JournalRow {
	rows := make([]JournalRow, 0, len(a.msgs)+len(a.Dead))
	for i, m := range a.msgs {
		if k := a.index[i]; k >= 0 {
			id := inboxIDs[k]
			a.Results[i].ID = id
			in := a.Inbox[k]
			kind := relay.KindCommand
			if in.Verb.IsRefused() {
				kind = relay.KindRejected // held: its ERR is journaled when answered
			}
			rows = append(rows, JournalRow{At: a.now, Direction: relay.DirIn, Kind: kind,
				Agent: in.Agent, Frame: m.Raw, Origin: m.Source, Ref: m.Ref, InboxID: id})
			continue
		}
		d := a.Dead[-1-a.index[i]]
		rows = append(rows, JournalRow{At: a.now, Direction: relay.DirIn, Kind: relay.KindRejected,
			Agent: d.Agent, Frame: m.Raw, Origin: m.Source, Ref: m.Ref})
		if a.reply[i] != "" {
			rows = append(rows, JournalRow{At: a.now, Direction: relay.DirOut, Kind: relay.KindReply,
				Agent: d.Agent, Frame: a.reply[i], Origin: m.Source, Ref: m.Ref, Outcome: relay.OutcomeErr, HasLatency: true})
		}
	}
	return rows
}
