package store_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

// ScanJobs returns jobs in id order whatever order the rows come in, with
// the dialect's time columns read in UTC.
func TestScanJobs(t *testing.T) {
	t.Parallel()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "scan.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	at := time.Date(2026, 3, 14, 9, 26, 53, 589793000, time.UTC)
	rs, err := db.QueryContext(context.Background(), `SELECT * FROM (VALUES
		(9, 'erp', '9', 'ana', 'S', '<ana><S>$', 1, ?),
		(4, 'socket', 'c1', 'bob', 'P', '<bob><P>$', 2, ?))`, at.UnixMicro(), at.UnixMicro()+1)
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := store.ScanJobs(rs, "relay-1", store.UnixMicros)
	if err != nil {
		t.Fatal(err)
	}
	want := []relay.Job{
		{ID: 4, Source: "socket", Ref: "c1", Agent: "bob", Verb: "P", Frame: "<bob><P>$", Attempts: 2, EnqueuedAt: at.Add(time.Microsecond), Owner: "relay-1"},
		{ID: 9, Source: "erp", Ref: "9", Agent: "ana", Verb: "S", Frame: "<ana><S>$", Attempts: 1, EnqueuedAt: at, Owner: "relay-1"},
	}
	if len(jobs) != 2 || jobs[0] != want[0] || jobs[1] != want[1] {
		t.Fatalf("jobs = %+v\nwant %+v", jobs, want)
	}
}

func TestTimeColumns(t *testing.T) {
	t.Parallel()
	paris := time.FixedZone("CET", 3600)
	at := time.Date(2026, 3, 14, 10, 0, 0, 0, paris)
	var got time.Time
	for _, c := range []struct {
		col  store.TimeColumn
		src  any
		want time.Time
	}{
		{store.Timestamp, at, at.UTC()},
		{store.Timestamp, nil, time.Time{}},
		{store.UnixMicros, at.UnixMicro(), at.UTC()},
		{store.UnixMicros, nil, time.Time{}},
	} {
		if err := c.col(&got).(sql.Scanner).Scan(c.src); err != nil || !got.Equal(c.want) || got.Location() != time.UTC {
			t.Errorf("scan %v = %v (%v), %v; want %v in UTC", c.src, got, got.Location(), err, c.want)
		}
	}
	if err := store.UnixMicros(&got).(sql.Scanner).Scan("soon"); err == nil {
		t.Error("a string scanned as microseconds")
	}
	if err := store.Timestamp(&got).(sql.Scanner).Scan(int64(3)); err == nil {
		t.Error("a number scanned as a timestamp")
	}
}

// ScanJobRuns and ScanCursors read the dialect's time columns in UTC, a
// NULL finished_at as the zero time.
func TestScanJobRunsAndCursors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "scan.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	at := time.Date(2026, 3, 14, 9, 26, 53, 589793000, time.UTC)
	us := at.UnixMicro()
	rs, err := db.QueryContext(ctx, `SELECT * FROM (VALUES
		(2, 'prune', ?, 0, 'r1', 'ok', ?, ?, ?, 'pruned 3'),
		(3, 'prune', ?, 1, 'r2', 'running', ?, NULL, ?, ''))`, us, us+1, us+2, us+3, us+10, us+11, us+12)
	if err != nil {
		t.Fatal(err)
	}
	runs, err := store.ScanJobRuns(rs, store.UnixMicros)
	if err != nil {
		t.Fatal(err)
	}
	µ := func(n int) time.Time { return at.Add(time.Duration(n) * time.Microsecond) }
	want := []relay.JobRun{
		{ID: 2, Job: "prune", Slot: at, Node: "r1", Status: "ok", StartedAt: µ(1), FinishedAt: µ(2), HeartbeatAt: µ(3), Summary: "pruned 3"},
		{ID: 3, Job: "prune", Slot: µ(10), Manual: true, Node: "r2", Status: "running", StartedAt: µ(11), HeartbeatAt: µ(12)},
	}
	if len(runs) != 2 || runs[0] != want[0] || runs[1] != want[1] {
		t.Fatalf("runs = %+v\nwant %+v", runs, want)
	}
	rs, err = db.QueryContext(ctx, `SELECT * FROM (VALUES ('webhook:a', 7, ?), ('webhook:b', 9, ?))`, us, us+1)
	if err != nil {
		t.Fatal(err)
	}
	cursors, err := store.ScanCursors(rs, store.UnixMicros)
	if err != nil {
		t.Fatal(err)
	}
	if wantC := []relay.Cursor{{Name: "webhook:a", Position: 7, UpdatedAt: at}, {Name: "webhook:b", Position: 9, UpdatedAt: µ(1)}}; !slices.Equal(cursors, wantC) {
		t.Fatalf("cursors = %+v\nwant %+v", cursors, wantC)
	}
}

// LatestCursors sends each name once, with its largest position, in name
// order.
func TestLatestCursors(t *testing.T) {
	t.Parallel()
	got := store.LatestCursors([]relay.Cursor{{Name: "b", Position: 3}, {Name: "a", Position: 9}, {Name: "b", Position: 5}, {Name: "a", Position: 2}})
	if want := []relay.Cursor{{Name: "a", Position: 9}, {Name: "b", Position: 5}}; !slices.Equal(got, want) {
		t.Errorf("LatestCursors = %+v, want %+v", got, want)
	}
	if got := store.LatestCursors(nil); len(got) != 0 {
		t.Errorf("LatestCursors(nil) = %+v", got)
	}
}

func TestAppendIDs(t *testing.T) {
	t.Parallel()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "scan.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rs, err := db.QueryContext(context.Background(), `SELECT * FROM (VALUES (7), (3))`)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := store.AppendIDs([]int64{1}, rs)
	if err != nil || !slices.Equal(ids, []int64{1, 7, 3}) {
		t.Errorf("AppendIDs = %v, %v; want [1 7 3]", ids, err)
	}
}

// EachRow hands every row to row and stops at its first error.
func TestEachRow(t *testing.T) {
	t.Parallel()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "scan.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	q := `SELECT * FROM (VALUES (?), (?), (?))`
	var got []string
	err = store.EachRow(ctx, db, q, store.Args([]string{"ana", "bia", "cid"}), func(rs *sql.Rows) error {
		var s string
		err := rs.Scan(&s)
		got = append(got, s)
		return err
	})
	if err != nil || !slices.Equal(got, []string{"ana", "bia", "cid"}) {
		t.Fatalf("EachRow = %v, %v", got, err)
	}
	boom := errors.New("boom")
	n := 0
	err = store.EachRow(ctx, db, q, store.Args([]int{1, 2, 3}), func(*sql.Rows) error { n++; return boom })
	if !errors.Is(err, boom) || n != 1 {
		t.Fatalf("EachRow with a failing row: %v after %d rows", err, n)
	}
}
