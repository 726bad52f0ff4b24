package store

import (
	"strings"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// The row shapes every dialect writes. Zero values stand for SQL NULL where
// the column is nullable, as each field says.

// InboxRow is a command accepted into {{inbox}} (state ready, attempts 0).
type InboxRow struct {
	Source string
	Ref    string
	Agent  string
	Verb   relay.Verb
	Frame  string
}

// DeadRow is a row of {{dead}}.
type DeadRow struct {
	InboxID    int64 // 0 (NULL): refused at intake, never in the inbox
	Source     string
	Ref        string
	Agent      string // "" when no login could be read
	Verb       relay.Verb
	Frame      string
	Code       string // the ERR code answered; "" (NULL) when none was
	Reason     string
	Attempts   int
	EnqueuedAt time.Time
	DiedAt     time.Time
}

// JournalRow is a row of {{journal}}.
type JournalRow struct {
	At         time.Time
	Direction  string
	Kind       string
	Agent      string
	Frame      string
	Origin     string
	Ref        string // "" (NULL) for events
	InboxID    int64  // 0 (NULL) when no inbox row is concerned
	Outcome    string // "" (NULL) except for replies
	Latency    time.Duration
	HasLatency bool   // false: latency_us is NULL
	Error      string // "" (NULL) unless the ERP's outbound table refused it
}

// NullVerb returns nil for a missing verb, for nullable columns.
func NullVerb(v relay.Verb) any {
	if v == "" {
		return nil
	}
	return string(v)
}

// NullString returns nil for "", for nullable columns.
func NullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// NullID returns nil for 0, for nullable id columns.
func NullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// ReplyOutcome is the journal outcome of a reply frame.
func ReplyOutcome(f relay.Frame) string {
	if strings.EqualFold(f.Verb(), "ERR") {
		return relay.OutcomeErr
	}
	return relay.OutcomeOK
}

// ErrCode is the code of the first ERR reply (its third field), or "".
func ErrCode(replies []relay.Frame) string {
	for _, f := range replies {
		if strings.EqualFold(f.Verb(), "ERR") && len(f) > 2 {
			return f[2]
		}
	}
	return ""
}

// NoteRows are the journal rows of the relay's own notes: they never go to
// T_TTO.
func NoteRows(notes []relay.Note, now time.Time) []JournalRow {
	rows := make([]JournalRow, len(notes))
	for i, n := range notes {
		rows[i] = JournalRow{At: now, Direction: relay.DirOut, Kind: relay.KindNote, Agent: n.Agent, Frame: n.Text, Origin: n.Origin, Ref: n.What}
	}
	return rows
}

// ExpiryNotes are the notes of the T_TTO rows an ExpireOutbox deleted.
func ExpiryNotes(req relay.ExpireOutboxRequest, gone []relay.ExpiredOutput) []relay.Note {
	notes := make([]relay.Note, len(gone))
	for i, o := range gone {
		notes[i] = req.Note(o)
	}
	return notes
}

// EventRows are the journal and outbound rows for switch events.
func EventRows(events []relay.Frame, now time.Time) (journal []JournalRow, outbox []string) {
	journal = make([]JournalRow, len(events))
	outbox = make([]string, len(events))
	for i, f := range events {
		s := f.String()
		outbox[i] = s
		journal[i] = JournalRow{At: now, Direction: relay.DirOut, Kind: relay.KindEvent, Agent: f.Login(), Frame: s, Origin: relay.OriginSwitch}
	}
	return journal, outbox
}
