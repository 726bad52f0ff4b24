package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

// The intake prepares its statements in SQL on each connection; a connection
// that lacks one of them (new, or whose statement was deallocated) runs the
// intake all the same, and takes each row once.
func TestIntakeOnAConnectionWithoutItsStatements(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, dsn := migrated(t, store.Options{})
	s.DB().SetMaxOpenConns(1) // one connection: the one the statements are taken from
	erp := rawDB(t, dsn)
	t0 := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	intake := func(frame string) {
		t.Helper()
		if _, err := erp.Exec(`INSERT INTO T_TTI (DS_TTI) VALUES ($1)`, frame); err != nil {
			t.Fatal(err)
		}
		if n, err := s.Intake(ctx, relay.IntakeRequest{Limit: 10, Now: t0}); n != 1 || err != nil {
			t.Fatalf("Intake of %s = %d, %v; want 1, nil", frame, n, err)
		}
	}
	prepared := func() []string {
		t.Helper()
		var names []string
		rs, err := s.DB().Query(`SELECT name FROM pg_prepared_statements WHERE name LIKE 'ctirelay\_%' ORDER BY name`)
		if err != nil {
			t.Fatal(err)
		}
		defer rs.Close()
		for rs.Next() {
			var n string
			if err := rs.Scan(&n); err != nil {
				t.Fatal(err)
			}
			names = append(names, n)
		}
		return names
	}

	intake("<jose><S>$")
	names := prepared()
	if len(names) != 2 {
		t.Fatalf("prepared after the first intake: %v, want the admission and the take", names)
	}
	for i, name := range names {
		if _, err := s.DB().Exec(`DEALLOCATE ` + name); err != nil {
			t.Fatal(err)
		}
		intake([]string{"<ana><S>$", "<maria><S>$"}[i])
		if got := prepared(); len(got) != 2 {
			t.Fatalf("prepared after an intake without %s: %v", name, got)
		}
	}
	var inbox, tti int
	if err := erp.QueryRow(`SELECT (SELECT count(*) FROM relay_inbox), (SELECT count(*) FROM T_TTI)`).Scan(&inbox, &tti); err != nil {
		t.Fatal(err)
	}
	if inbox != 3 || tti != 0 {
		t.Fatalf("inbox %d rows, T_TTI %d; want 3 and 0", inbox, tti)
	}
}

// A failed intake rolls back on its connection: the rows stay in T_TTI and
// the connection goes back to the pool outside any transaction.
func TestFailedIntakeLeavesNoTransactionOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, dsn := migrated(t, store.Options{})
	s.DB().SetMaxOpenConns(1)
	erp := rawDB(t, dsn)
	t0 := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	if _, err := erp.Exec(`INSERT INTO T_TTI (DS_TTI) VALUES ('<jose><S>$'), ('<ana><S>$')`); err != nil {
		t.Fatal(err)
	}
	// The admission fails after the take has deleted the rows.
	if _, err := erp.Exec(`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION 'refused'; END$$;
		CREATE TRIGGER refuse BEFORE INSERT ON relay_inbox FOR EACH ROW EXECUTE FUNCTION refuse()`); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the first prepares, the second runs on a prepared connection
		if n, err := s.Intake(ctx, relay.IntakeRequest{Limit: 10, Now: t0}); err == nil {
			t.Fatalf("Intake = %d, nil with the inbox refusing rows", n)
		}
		// Inside a transaction, now() would be its start; inside a failed
		// one, the query itself would fail.
		var open bool
		if err := s.DB().QueryRow(`SELECT now() <> statement_timestamp()`).Scan(&open); err != nil || open {
			t.Fatalf("the pool's connection is inside a transaction (%v)", err)
		}
	}
	if _, err := erp.Exec(`DROP TRIGGER refuse ON relay_inbox`); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Intake(ctx, relay.IntakeRequest{Limit: 10, Now: t0}); n != 2 || err != nil {
		t.Fatalf("Intake after the failures = %d, %v; want both rows", n, err)
	}
}
