package store

import (
	"database/sql"
	"errors"

	"github.com/ctirelay/ctirelay/relay"
)

// Command implements relay.Operators.Command with three lookups of a
// dialect's by the command's id and no transaction (a command settling
// meanwhile is seen in one state or the next): its inbox row, else its
// dead letter (ScanCommandRow), then its journal rows (ScanJournal). The
// caller wraps the error.
func Command(id int64, at TimeColumn, inbox RowScanner, dead func() RowScanner, journal func() (*sql.Rows, error)) (relay.CommandRecord, bool, error) {
	rec := relay.CommandRecord{ID: id}
	found, err := ScanCommandRow(inbox, dead, at, &rec)
	if err != nil {
		return relay.CommandRecord{}, false, err
	}
	rs, err := journal()
	if err != nil {
		return relay.CommandRecord{}, false, err
	}
	entries, err := ScanJournal(rs, at)
	if err != nil {
		return relay.CommandRecord{}, false, err
	}
	return rec, AddCommandJournal(&rec, found, entries), nil
}

// RowScanner is one row read (*sql.Row, *sqlx.Row).
type RowScanner interface{ Scan(dest ...any) error }

// ScanCommandRow fills rec from a command's inbox row (state, attempts,
// source, source_ref, agent, frame, enqueued_at, last_error) or, when the
// inbox has none, from its dead letter (attempts, source, source_ref,
// agent, frame, enqueued_at, reason), which dead reads only then. found is
// false when neither holds it.
func ScanCommandRow(inbox RowScanner, dead func() RowScanner, at TimeColumn, rec *relay.CommandRecord) (found bool, err error) {
	var state string
	err = inbox.Scan(&state, &rec.Attempts, &rec.Source, &rec.Ref, &rec.Agent, &rec.Frame, at(&rec.EnqueuedAt), &rec.LastError)
	switch {
	case err == nil:
		rec.State = relay.CommandQueued
		switch {
		case state == "running":
			rec.State = relay.CommandRunning
		case rec.Attempts > 0:
			rec.State = relay.CommandRetrying
		}
		return true, nil
	case !errors.Is(err, sql.ErrNoRows):
		return false, err
	}
	err = dead().Scan(&rec.Attempts, &rec.Source, &rec.Ref, &rec.Agent, &rec.Frame, at(&rec.EnqueuedAt), &rec.DeadReason)
	switch {
	case err == nil:
		rec.State = relay.CommandDead
		return true, nil
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	}
	return false, err
}

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
