package store

import "github.com/ctirelay/ctirelay/relay"

// AddCommandJournal completes rec from the command's journal rows (in
// journal order): the replies, and, when neither the inbox nor relay_dead
// had it (found false), the command as taken, which makes it done. It
// returns whether the command is known now.
func AddCommandJournal(rec *relay.CommandRecord, found bool, entries []relay.JournalEntry) bool {
	for _, e := range entries {
		switch e.Kind {
		case relay.KindReply:
			rec.Replies = append(rec.Replies, e)
		default: // the command as taken
			if !found {
				found = true
				rec.State, rec.Source, rec.Ref, rec.Agent, rec.Frame, rec.EnqueuedAt = relay.CommandDone, e.Origin, e.Ref, e.Agent, e.Frame, e.At
			}
		}
	}
	return found
}
