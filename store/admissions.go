package store

import (
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// Admissions is what a batch of raw inbound messages becomes: inbox rows for
// the commands admitted, dead letters for the others, ERR replies for the
// ERP's outbound table, and (once the inbox ids are known) the journal.
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

// Admit runs relay.Admit over msgs. Bridges answer their own clients, so only
// rejected messages from relay.SourceERP get their ERR reply in Outbox.
func Admit(msgs []relay.Inbound, now time.Time, maxFrame int) *Admissions {
	a := &Admissions{
		Inbox:   make([]InboxRow, 0, len(msgs)),
		Results: make([]relay.Enqueued, len(msgs)),
		now:     now,
		msgs:    msgs,
		index:   make([]int, len(msgs)),
		reply:   make([]string, len(msgs)),
	}
	for i, m := range msgs {
		ad := relay.Admit(m.Raw, maxFrame)
		if ad.Err == nil {
			a.index[i] = len(a.Inbox)
			a.Inbox = append(a.Inbox, InboxRow{Source: m.Source, Ref: m.Ref, Agent: ad.Agent, Verb: ad.Verb, Frame: m.Raw})
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
	return a
}

// Journal sets the Results' ids from the inbox ids the database gave (in
// Inbox order) and returns the batch's journal rows in message order: the
// command taken, or the rejection and its ERR reply.
func (a *Admissions) Journal(inboxIDs []int64) []JournalRow {
	rows := make([]JournalRow, 0, len(a.msgs)+len(a.Dead))
	for i, m := range a.msgs {
		if k := a.index[i]; k >= 0 {
			id := inboxIDs[k]
			a.Results[i].ID = id
			in := a.Inbox[k]
			rows = append(rows, JournalRow{At: a.now, Direction: relay.DirIn, Kind: relay.KindCommand,
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
