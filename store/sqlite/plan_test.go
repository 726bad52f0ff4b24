package sqlite

import (
	"context"
	"path/filepath"
	"regexp"
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
		"claim": q.claim, "reclaim": q.reclaim, "reclaimDead": q.reclaimDead, "extend": q.extend, "release": q.release,
		"remove": q.remove.SQL(2), "retry": q.retry.SQL(2), "next": q.next.SQL(2),
		"leaseNext": q.leaseNext.SQL(2), "lease": q.lease.SQL(2), "headOf": q.headOf.SQL(2),
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
			if readsWhole.MatchString(d) {
				t.Errorf("%s reads a queue table whole (%s):\n%s", name, d, strings.Join(plan, "\n"))
			}
		}
	}
}

// readsWhole matches the plan lines of a full read: a SCAN of the inbox or
// the journal (by name or by the aliases the statements give them), or an
// automatic index or a Bloom filter on a table, which SQLite builds by
// reading a table that has no index for the lookup (CREATE BLOOM FILTER
// alone filters an IN list). SEARCH is a lookup by key.
var readsWhole = regexp.MustCompile(`^SCAN (relay_inbox|relay_journal|i|n)\b|AUTOMATIC|BLOOM FILTER ON`)

// nullArgs binds NULL to every parameter: a plan does not depend on them.
func nullArgs(text string) []any {
	return make([]any, strings.Count(text, "?"))
}
