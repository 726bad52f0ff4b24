package relay

import (
	"context"
	"time"
)

// KindNote is a journal entry of the relay's own: something a DBA must be
// able to find next to the messages (a screen pop a rule suppressed, an
// agent the switch logged off behind the ERP's back, a T_TTO row expired)
// that is neither a command nor a message of the switch. Notes never reach
// T_TTO or the switch.
const KindNote = "note"

// Note is one such entry. In relay_journal it is a row of kind note,
// direction out: Agent in agent, Text in frame, Origin in origin and What
// in source_ref.
type Note struct {
	Agent string // the login concerned; "" when none is
	// Origin is the component that wrote it: "crm", "file", "job:agent-sync";
	// at most 16 ASCII characters (the column is that narrow on SQL Server).
	Origin string
	What   string // a short word to filter on: "pop-suppressed", "state-differs"
	Text   string // what happened, for a person to read
}

// Notebook writes notes to the journal, in order, in one transaction. They
// get journal ids like every other entry, so feed subscribers see them.
type Notebook interface {
	Note(ctx context.Context, notes []Note, now time.Time) error
}

// NoteOf reads a note back from its journal entry.
func NoteOf(e JournalEntry) Note {
	return Note{Agent: e.Agent, Origin: e.Origin, What: e.Ref, Text: e.Frame}
}
