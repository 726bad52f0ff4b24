package sqlserver

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
	if err := s.check(); err != nil {
		return relay.CommandRecord{}, false, err
	}
	rec := relay.CommandRecord{ID: id}
	found, err := s.commandRow(ctx, id, &rec)
	if err != nil {
		return relay.CommandRecord{}, false, fail("read command", err)
	}
	rs, err := s.query(ctx, qCommandJournal, id)
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
	var state string
	var attempts int32
	err := s.db.QueryRowContext(ctx, s.q.sql(qCommandInbox), id).Scan(&state, &attempts, &rec.Source, &rec.Ref, &rec.Agent, &rec.Frame, &rec.EnqueuedAt, &rec.LastError)
	switch {
	case err == nil:
		rec.Attempts = int(attempts)
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
	err = s.db.QueryRowContext(ctx, s.q.sql(qCommandDead), id).Scan(&attempts, &rec.Source, &rec.Ref, &rec.Agent, &rec.Frame, &rec.EnqueuedAt, &rec.DeadReason)
	switch {
	case err == nil:
		rec.State, rec.Attempts, rec.EnqueuedAt = relay.CommandDead, int(attempts), rec.EnqueuedAt.UTC()
		return true, nil
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	}
	return false, err
}
