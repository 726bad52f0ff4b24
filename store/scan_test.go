package store_test

import (
	"context"
	"database/sql"
	"path/filepath"
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
