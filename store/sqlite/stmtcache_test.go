package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"testing"

	"modernc.org/sqlite"
)

// The cache hands back the same prepared statement, prepares a spare one
// while the cached one still has rows open, and forgets nothing it reads.
func TestCachingConnReusesStatements(t *testing.T) {
	t.Parallel()
	base, err := sqlite.NewConnector(filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(cachingConnector{base})
	defer db.Close()
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := conn.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec("CREATE TABLE t (v INTEGER)")
	for i := range 5 {
		exec("INSERT INTO t VALUES (?)", i)
	}
	const sel = "SELECT v FROM t WHERE v >= ? ORDER BY v"
	outer, err := conn.QueryContext(ctx, sel, 3)
	if err != nil {
		t.Fatal(err)
	}
	// the same text again while outer's rows are open
	var inner []int
	rows, err := conn.QueryContext(ctx, sel, 1)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		inner = append(inner, v)
	}
	rows.Close()
	var got []int
	for outer.Next() {
		var v int
		if err := outer.Scan(&v); err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	outer.Close()
	if !slices.Equal(got, []int{3, 4}) || !slices.Equal(inner, []int{1, 2, 3, 4}) {
		t.Fatalf("outer %v, inner %v", got, inner)
	}
	err = conn.Raw(func(dc any) error {
		c := dc.(*cachingConn)
		if len(c.stmts) != 3 {
			t.Errorf("cached %d statements, want 3 (create, insert, select)", len(c.stmts))
		}
		for q, cs := range c.stmts {
			if cs.busy {
				t.Errorf("%q still busy after its rows closed", q)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil || n != 5 {
		t.Fatalf("count = %d, %v", n, err)
	}
}
