package sqlite

import (
	"context"
	"database/sql"
	_ "embed"
	"errors"
	"strings"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/schema"
	"github.com/ctirelay/ctirelay/store"
)

//go:embed sql/command.sql
var sqlCommand string

// Command implements relay.Operators: the inbox row, else the dead letter,
// else the journal's record of it; its replies from the journal. Read in
// one transaction, so a command settling meanwhile is seen in one state.
func (s *Store) Command(ctx context.Context, id int64) (relay.CommandRecord, bool, error) {
	stmts := strings.Split(schema.Render(sqlCommand, s.names), "--next\n")
	if len(stmts) != 3 {
		panic("sqlite: sql/command.sql holds 3 statements")
	}
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return relay.CommandRecord{}, false, fail(ctx, "read command", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	rec := relay.CommandRecord{ID: id}
	found, err := commandRow(ctx, tx, stmts, id, &rec)
	if err != nil {
		return relay.CommandRecord{}, false, fail(ctx, "read command", err)
	}
	rs, err := tx.QueryContext(ctx, stmts[2], id)
	if err != nil {
		return relay.CommandRecord{}, false, fail(ctx, "read command", err)
	}
	entries, err := store.ScanJournal(rs, store.UnixMicros)
	if err != nil {
		return relay.CommandRecord{}, false, fail(ctx, "read command", err)
	}
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
	return rec, found, nil
}

func commandRow(ctx context.Context, tx *sql.Tx, stmts []string, id int64, rec *relay.CommandRecord) (bool, error) {
	var state string
	var enq int64
	err := tx.QueryRowContext(ctx, stmts[0], id).Scan(&state, &rec.Attempts, &rec.Source, &rec.Ref, &rec.Agent, &rec.Frame, &enq, &rec.LastError)
	switch {
	case err == nil:
		rec.State = relay.CommandQueued
		switch {
		case state == "running":
			rec.State = relay.CommandRunning
		case rec.Attempts > 0:
			rec.State = relay.CommandRetrying
		}
		rec.EnqueuedAt = fromMicros(enq)
		return true, nil
	case !errors.Is(err, sql.ErrNoRows):
		return false, err
	}
	err = tx.QueryRowContext(ctx, stmts[1], id).Scan(&rec.Attempts, &rec.Source, &rec.Ref, &rec.Agent, &rec.Frame, &enq, &rec.DeadReason)
	switch {
	case err == nil:
		rec.State, rec.EnqueuedAt = relay.CommandDead, fromMicros(enq)
		return true, nil
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	}
	return false, err
}
