package sqlite_test

import (
	"context"
	"io/fs"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/ctirelay/ctirelay/schema"
	"github.com/ctirelay/ctirelay/store"
	"github.com/ctirelay/ctirelay/store/sqlite"
)

// upTo is the SQLite dialect with only the steps up to version v, as a
// database of an earlier release has them.
func upTo(t *testing.T, v int) schema.Dialect {
	t.Helper()
	steps, err := sqlite.Migrations.Steps()
	if err != nil {
		t.Fatal(err)
	}
	old := fstest.MapFS{}
	for _, m := range steps {
		if m.Version <= v {
			old[m.File] = &fstest.MapFile{Data: []byte(m.SQL), Mode: fs.ModePerm}
		}
	}
	d := sqlite.Migrations
	d.FS = old
	return d
}

// Step 5 rebuilds the journal to widen its kind CHECK: rows, ids and the
// AUTOINCREMENT high-water mark survive, so no tail cursor sees an id twice,
// and the views read the new table.
func TestJournalRebuildKeepsRowsAndIDs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openSQLite(t, filepath.Join(t.TempDir(), "relay.db"))
	n := names(t, store.Options{})
	if _, err := upTo(t, 4).Apply(ctx, db, n); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO relay_journal (at, direction, kind, agent, frame, origin) VALUES (1, 'out', 'event', 'ana', '<ana><R>$', 'switch')`,
		`INSERT INTO relay_journal (at, direction, kind, agent, frame, origin, inbox_id, outcome, latency_us, error) VALUES (2, 'out', 'reply', 'ana', '<ana><OK>$', 'erp', 7, 'ok', 12, 'x')`,
		`INSERT INTO relay_journal (at, direction, kind, agent, frame, origin) VALUES (3, 'out', 'event', 'ana', '<ana><EndCall>$', 'switch')`,
		// retention took the newest: the next id must still be 4
		`DELETE FROM relay_journal WHERE id = 3`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO relay_journal (at, direction, kind, agent, frame, origin) VALUES (4, 'out', 'note', '', 'x', 'crm')`); err == nil {
		t.Fatal("step 4's journal took a note: the test does not test the rebuild")
	}
	applied, err := sqlite.Migrations.Apply(ctx, db, n)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) == 0 || applied[0].Version != 5 {
		t.Fatalf("applied %+v", applied)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO relay_journal (at, direction, kind, agent, frame, origin, source_ref) VALUES (4, 'out', 'note', 'ana', 'popped', 'crm', 'pop')`); err != nil {
		t.Fatalf("a note after the rebuild: %v", err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO relay_journal (at, direction, kind, agent, frame, origin) VALUES (5, 'out', 'bogus', '', 'x', 'crm')`); err == nil {
		t.Fatal("the rebuilt journal takes any kind")
	}
	type row struct {
		ID                   int64
		Kind, Frame, Outcome string
		Latency              int64
		Error                string
	}
	rs, err := db.QueryContext(ctx, `SELECT id, kind, frame, coalesce(outcome, ''), coalesce(latency_us, 0), coalesce(error, '') FROM relay_journal ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var got []row
	for rs.Next() {
		var r row
		if err := rs.Scan(&r.ID, &r.Kind, &r.Frame, &r.Outcome, &r.Latency, &r.Error); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	want := []row{{1, "event", "<ana><R>$", "", 0, ""}, {2, "reply", "<ana><OK>$", "ok", 12, "x"}, {4, "note", "popped", "", 0, ""}}
	if len(got) != len(want) {
		t.Fatalf("journal %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("journal %+v, want %+v", got, want)
		}
	}
	for _, view := range []string{"relay_queue_status", "relay_agent_status", "relay_throughput"} {
		if _, err := db.ExecContext(ctx, "SELECT * FROM "+view); err != nil {
			t.Errorf("view %s after the rebuild: %v", view, err)
		}
	}
	var idx int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'relay_journal_at'`).Scan(&idx); err != nil || idx != 1 {
		t.Fatalf("journal_at index: %d, %v", idx, err)
	}
}
