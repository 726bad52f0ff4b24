package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/ctirelay/ctirelay/schema"
)

// renumberAbove is the largest IS_TTI whose taking leaves T_TTI's numbering
// alone. AUTOINCREMENT numbers past the largest IS_TTI the table ever held
// and, past 2^63 - 1, refuses every default-numbered insert ("database or
// disk is full") even once the row is gone: so when the relay takes an
// IS_TTI above this (2^62 - 1, far beyond any real numbering), it brings the
// numbering back to the rows still in the table. Numbers may then be given
// again; nothing the ERP reads carries IS_TTI (replies in T_TTO do not), only
// relay_inbox, relay_dead and relay_journal keep it, as source_ref.
const renumberAbove = 1<<62 - 1

// renumberTTI runs sqlRenumberTTI in the intake's transaction.
func (s *Store) renumberTTI(ctx context.Context, tx *sql.Tx) error {
	def, err := stepOneTTI(s.names)
	if err != nil {
		return err
	}
	var seq int64
	switch err := tx.QueryRowContext(ctx, s.q.renumberTTI, s.names["tti_name"], def).Scan(&seq); {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("renumber %s: %w", s.names["tti"], err)
	}
	s.log.Warn("IS_TTI above 2^62 taken: default numbering of the inbound table goes on from its remaining rows",
		"table", s.names["tti"], "next_is_tti", seq+1)
	return nil
}

// stepOneTTI is T_TTI's definition as SQLite keeps it when step 1 made it.
func stepOneTTI(names map[string]string) (string, error) {
	steps, err := Migrations.Steps()
	if err != nil {
		return "", err
	}
	const create = "CREATE TABLE IF NOT EXISTS "
	body := steps[0].SQL
	i := strings.Index(body, create+"{{tti}} (")
	j := strings.Index(body[max(i, 0):], ");")
	if steps[0].Version != 1 || i < 0 || j < 0 {
		return "", errors.New("sqlite step 1 does not create {{tti}}")
	}
	return "CREATE TABLE " + schema.Render(body[i+len(create):i+j+1], names), nil
}
