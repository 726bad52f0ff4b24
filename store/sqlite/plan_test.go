package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctirelay/ctirelay/store"
)

// TestHotStatementsNeverScanTheInbox asks the embedded SQLite how it runs
// each statement the relay sends for every command or batch, and fails on
// any full scan of the inbox or the journal: both grow with a backlog. (The
// fenced delete's row-value IN is a rowid search here; SQLite 3.40, as in
// Debian's sqlite3 shell, scanned the inbox for it.)
func TestHotStatementsNeverScanTheInbox(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "plan.db"), store.Options{}, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	q := s.q
	statements := map[string]string{
		"claim": q.claim, "reclaim": q.reclaim, "extend": q.extend, "release": q.release,
		"remove": q.remove.sql(2), "retry": q.retry.sql(2), "next": q.next.sql(2),
		"leaseNext": q.leaseNext.sql(2), "lease": q.lease.sql(2), "headOf": q.headOf.sql(2),
		"journalSince": q.journalSince,
	}
	for name, text := range statements {
		rows, err := s.db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+text, nullArgs(text)...)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		for _, d := range plan {
			for _, table := range []string{"relay_inbox", "relay_journal"} {
				// SEARCH is a lookup by key; SCAN reads a table or an
				// index whole
				if strings.HasPrefix(d, "SCAN "+table) {
					t.Errorf("%s scans %s whole:\n%s", name, table, strings.Join(plan, "\n"))
				}
			}
		}
	}
}

// nullArgs binds NULL to every parameter: a plan does not depend on them.
func nullArgs(text string) []any {
	return make([]any, strings.Count(text, "?"))
}
