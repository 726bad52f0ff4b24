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
	if len(stmts) != 5 {
		panic("sqlite: sql/command.sql holds 5 statements")
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
	entries, err := commandJournal(ctx, tx, stmts, id, found && rec.State != relay.CommandDead)
	if err != nil {
		return relay.CommandRecord{}, false, fail(ctx, "read command", err)
	}
	return rec, store.AddCommandJournal(&rec, found, entries), nil
}

// replyScan bounds the journal rows read after a command's own row for
// its replies: they come once it settled, behind whatever the other agents
// did meanwhile; a command that took longer than this many entries is shown
// without them.
const replyScan = 1 << 20

// replyChunk is how many journal rows one read after the command's row
// covers (tests make it small, so that the reads go on chunk after chunk).
var replyChunk = 4096

// commandJournal finds the command's own journal row by binary search on
// the journal's key (commands are journaled in inbox id order), then its
// replies after it, a chunk at a time, stopping after the contiguous run
// of them. Pending (still in the inbox) needs the row only.
func commandJournal(ctx context.Context, tx *sql.Tx, stmts []string, id int64, pending bool) ([]relay.JournalEntry, error) {
	var lo, hi int64
	if err := tx.QueryRowContext(ctx, stmts[4]).Scan(&lo, &hi); err != nil || hi == 0 {
		return nil, err
	}
	head := hi // the read transaction's snapshot: it does not move
	first := func(from int64) (jid, inbox int64, ok bool, err error) {
		err = tx.QueryRowContext(ctx, stmts[2], from).Scan(&jid, &inbox)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, 0, false, nil
		}
		return jid, inbox, err == nil, err
	}
	row := int64(0)
	for lo <= hi {
		mid := lo + (hi-lo)/2
		jid, inbox, ok, err := first(mid)
		switch {
		case err != nil:
			return nil, err
		case !ok || inbox > id:
			hi = mid - 1
		case inbox < id:
			lo = jid + 1
		default:
			row, hi = jid, -1
		}
	}
	if row == 0 {
		return nil, nil
	}
	chunk := int64(replyChunk)
	var out []relay.JournalEntry
	for from := row; from <= row+replyScan; from += chunk {
		to := from + chunk - 1
		if pending {
			to = row
		}
		rs, err := tx.QueryContext(ctx, stmts[3], from, to, id, row)
		if err != nil {
			return nil, err
		}
		got, err := store.ScanJournal(rs, store.UnixMicros)
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
		replies := len(out) > 0 && out[len(out)-1].Kind == relay.KindReply
		// Replies are contiguous: once some came, a chunk that ends past
		// the last of them holds them all; the journal's end stops it too.
		if pending || (replies && out[len(out)-1].ID < to) || to >= head {
			break
		}
	}
	return out, nil
}

func commandRow(ctx context.Context, tx *sql.Tx, stmts []string, id int64, rec *relay.CommandRecord) (bool, error) {
	return store.ScanCommandRow(tx.QueryRowContext(ctx, stmts[0], id),
		func() store.RowScanner { return tx.QueryRowContext(ctx, stmts[1], id) }, store.UnixMicros, rec)
}
