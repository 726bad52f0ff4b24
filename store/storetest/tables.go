package storetest

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/schema"
)

// Row is a row of T_TTI (IS_TTI, DS_TTI) or T_TTO (IS_TTO, DS_TTO).
type Row struct {
	ID   int64
	Text string
}

// InboxRow is a raw relay_inbox row; NULL reads as 0 or "". Times are µs
// since the Unix epoch.
type InboxRow struct {
	ID           int64
	Source       string
	Ref          string
	Agent        string
	Verb         string
	Frame        string
	State        string // ready | running
	Attempts     int64
	NotBefore    int64
	LeaseOwner   string
	LeaseExpires int64
	EnqueuedAt   int64
	LastError    string
}

// DeadRow is a raw relay_dead row; NULL reads as 0 or "". Times are µs since
// the Unix epoch.
type DeadRow struct {
	ID         int64
	InboxID    int64
	Source     string
	Ref        string
	Agent      string
	Verb       string
	Frame      string
	Code       string
	Reason     string
	Attempts   int64
	EnqueuedAt int64
	DiedAt     int64
}

// Tables is the database as the ERP and a DBA see it, beside the store's
// methods: what a store without SQL supplies so the whole suite runs on it.
// Every method fails the test on error; rows come in id order.
type Tables interface {
	// InsertTTI adds rows to T_TTI as the ERP does, in one statement or a
	// few: a row with ID 0 is numbered by the database, like an identity
	// column; another keeps its ID.
	InsertTTI(t *testing.T, rows ...Row)
	TTI(t *testing.T) []Row
	TTO(t *testing.T) []Row
	// DeleteTTO removes a row the ERP has read.
	DeleteTTO(t *testing.T, id int64)
	Inbox(t *testing.T) []InboxRow
	Dead(t *testing.T) []DeadRow
	// Cursors are the rows of relay_cursor in name order.
	Cursors(t *testing.T) []relay.Cursor
	// Nodes are the rows of relay_node in id order (ID, Host, PID and
	// Version are enough).
	Nodes(t *testing.T) []relay.Node
	// JournalLen counts the rows of relay_journal.
	JournalLen(t *testing.T) int
}

// sqlTables is Tables over a SQL dialect's raw connection.
type sqlTables struct{ h Harness }

// SQLTables is Tables over h.DB, with h's Rebind, Names, Micros and
// InsertKeepingID: what Run gives a harness without Tables.
func SQLTables(h Harness) Tables { return &sqlTables{h: h} }

func (s *sqlTables) sql(query string) string {
	q := schema.Render(query, s.h.Names)
	if s.h.Rebind != nil {
		q = s.h.Rebind(q)
	}
	return q
}

func (s *sqlTables) micros(col string) string {
	if s.h.Micros == nil {
		return col
	}
	return s.h.Micros(col)
}

func (s *sqlTables) exec(t *testing.T, query string, args ...any) {
	t.Helper()
	if _, err := s.h.DB.Exec(s.sql(query), args...); err != nil {
		t.Fatalf("exec %q: %v", query, err)
	}
}

func (s *sqlTables) rows(t *testing.T, query string, scan func(*sql.Rows) error, args ...any) {
	t.Helper()
	rs, err := s.h.DB.Query(s.sql(query), args...)
	if err != nil {
		t.Fatalf("query %q: %v", query, err)
	}
	defer rs.Close()
	for rs.Next() {
		if err := scan(rs); err != nil {
			t.Fatalf("scan %q: %v", query, err)
		}
	}
	if err := rs.Err(); err != nil {
		t.Fatalf("query %q: %v", query, err)
	}
}

// InsertTTI writes rows the database numbers as one multi-row INSERT per
// 300, and rows with an IS_TTI positionally, as many ERPs do.
func (s *sqlTables) InsertTTI(t *testing.T, rows ...Row) {
	t.Helper()
	var b strings.Builder
	var args []any
	flush := func() {
		if len(args) > 0 {
			s.exec(t, b.String(), args...)
		}
		b.Reset()
		args = args[:0]
	}
	for _, r := range rows {
		if r.ID != 0 {
			flush()
			keep := `INSERT INTO {{tti}} VALUES (?, ?)`
			if s.h.InsertKeepingID != "" {
				keep = s.h.InsertKeepingID
			}
			s.exec(t, keep, r.ID, r.Text)
			continue
		}
		if len(args) == 0 {
			b.WriteString(`INSERT INTO {{tti}} (DS_TTI) VALUES (?)`)
		} else {
			b.WriteString(`, (?)`)
		}
		args = append(args, r.Text)
		if len(args) == 300 {
			flush()
		}
	}
	flush()
}

func (s *sqlTables) messages(t *testing.T, query string) []Row {
	t.Helper()
	var out []Row
	s.rows(t, query, func(r *sql.Rows) error {
		var x Row
		err := r.Scan(&x.ID, &x.Text)
		out = append(out, x)
		return err
	})
	return out
}

func (s *sqlTables) TTI(t *testing.T) []Row {
	t.Helper()
	return s.messages(t, `SELECT IS_TTI, DS_TTI FROM {{tti}} ORDER BY IS_TTI`)
}

func (s *sqlTables) TTO(t *testing.T) []Row {
	t.Helper()
	return s.messages(t, `SELECT IS_TTO, DS_TTO FROM {{tto}} ORDER BY IS_TTO`)
}

func (s *sqlTables) DeleteTTO(t *testing.T, id int64) {
	t.Helper()
	s.exec(t, `DELETE FROM {{tto}} WHERE IS_TTO = ?`, id)
}

func (s *sqlTables) Inbox(t *testing.T) []InboxRow {
	t.Helper()
	q := fmt.Sprintf(`SELECT id, source, source_ref, agent, verb, frame, state, attempts,
		coalesce(%s, 0), coalesce(lease_owner, ''), coalesce(%s, 0), %s, coalesce(last_error, '')
		FROM {{inbox}} ORDER BY id`, s.micros("not_before"), s.micros("lease_expires"), s.micros("enqueued_at"))
	var out []InboxRow
	s.rows(t, q, func(r *sql.Rows) error {
		var x InboxRow
		err := r.Scan(&x.ID, &x.Source, &x.Ref, &x.Agent, &x.Verb, &x.Frame, &x.State, &x.Attempts,
			&x.NotBefore, &x.LeaseOwner, &x.LeaseExpires, &x.EnqueuedAt, &x.LastError)
		out = append(out, x)
		return err
	})
	return out
}

func (s *sqlTables) Dead(t *testing.T) []DeadRow {
	t.Helper()
	q := fmt.Sprintf(`SELECT id, coalesce(inbox_id, 0), source, source_ref, agent, coalesce(verb, ''), frame,
		coalesce(code, ''), reason, attempts, %s, %s FROM {{dead}} ORDER BY id`,
		s.micros("enqueued_at"), s.micros("died_at"))
	var out []DeadRow
	s.rows(t, q, func(r *sql.Rows) error {
		var x DeadRow
		err := r.Scan(&x.ID, &x.InboxID, &x.Source, &x.Ref, &x.Agent, &x.Verb, &x.Frame,
			&x.Code, &x.Reason, &x.Attempts, &x.EnqueuedAt, &x.DiedAt)
		out = append(out, x)
		return err
	})
	return out
}

func (s *sqlTables) Cursors(t *testing.T) []relay.Cursor {
	t.Helper()
	var out []relay.Cursor
	s.rows(t, fmt.Sprintf(`SELECT name, position, %s FROM {{cursor}} ORDER BY name`, s.micros("updated_at")), func(r *sql.Rows) error {
		var c relay.Cursor
		var updated int64
		err := r.Scan(&c.Name, &c.Position, &updated)
		c.UpdatedAt = time.UnixMicro(updated).UTC()
		out = append(out, c)
		return err
	})
	return out
}

func (s *sqlTables) Nodes(t *testing.T) []relay.Node {
	t.Helper()
	var out []relay.Node
	s.rows(t, `SELECT id, host, pid, version FROM {{node}} ORDER BY id`, func(r *sql.Rows) error {
		var n relay.Node
		err := r.Scan(&n.ID, &n.Host, &n.PID, &n.Version)
		out = append(out, n)
		return err
	})
	return out
}

func (s *sqlTables) JournalLen(t *testing.T) int {
	t.Helper()
	var n int
	s.rows(t, `SELECT count(*) FROM {{journal}}`, func(r *sql.Rows) error { return r.Scan(&n) })
	return n
}
