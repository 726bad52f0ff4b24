package postgres

import (
	"context"
	"database/sql"
	"errors"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

const (
	qCommandInbox   query = "command_inbox"
	qCommandDead    query = "command_dead"
	qCommandJournal query = "command_journal"
)

// Command implements relay.Operators: the inbox row, else the dead letter,
// else the journal's record of it; its replies from the journal. Three
// index lookups, no transaction: a command settling meanwhile is seen in
// one state or the next.
func (s *Store) Command(ctx context.Context, id int64) (relay.CommandRecord, bool, error) {
	rec := relay.CommandRecord{ID: id}
	found, err := s.commandRow(ctx, id, &rec)
	if err != nil {
		return relay.CommandRecord{}, false, fail("read command", err)
	}
	st, err := s.stmt(ctx, qCommandJournal)
	if err != nil {
		return relay.CommandRecord{}, false, fail("read command", err)
	}
	rs, err := st.QueryContext(ctx, id)
	if err != nil {
		return relay.CommandRecord{}, false, fail("read command", err)
	}
	entries, err := store.ScanJournal(rs, store.Timestamp)
	if err != nil {
		return relay.CommandRecord{}, false, fail("read command", err)
	}
	return rec, store.AddCommandJournal(&rec, found, entries), nil
}

// commandRow fills rec from the inbox or relay_dead.
func (s *Store) commandRow(ctx context.Context, id int64, rec *relay.CommandRecord) (bool, error) {
	st, err := s.stmt(ctx, qCommandInbox)
	if err != nil {
		return false, err
	}
	var state string
	err = st.QueryRowContext(ctx, id).Scan(&state, &rec.Attempts, &rec.Source, &rec.Ref, &rec.Agent, &rec.Frame, &rec.EnqueuedAt, &rec.LastError)
	switch {
	case err == nil:
		rec.State = relay.CommandQueued
		switch {
		case state == "running":
			rec.State = relay.CommandRunning
		case rec.Attempts > 0:
			rec.State = relay.CommandRetrying
		}
		rec.EnqueuedAt = rec.EnqueuedAt.UTC()
		return true, nil
	case !errors.Is(err, sql.ErrNoRows):
		return false, err
	}
	if st, err = s.stmt(ctx, qCommandDead); err != nil {
		return false, err
	}
	err = st.QueryRowContext(ctx, id).Scan(&rec.Attempts, &rec.Source, &rec.Ref, &rec.Agent, &rec.Frame, &rec.EnqueuedAt, &rec.DeadReason)
	switch {
	case err == nil:
		rec.State, rec.EnqueuedAt = relay.CommandDead, rec.EnqueuedAt.UTC()
		return true, nil
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	}
	return false, err
}
