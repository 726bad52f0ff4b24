package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

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
	for range 2 { // on a new connection, then on one that has prepared the statements
		if n, _, err := s.Intake(ctx, relay.IntakeRequest{Limit: 10, Now: t0}, relay.ClaimRequest{}); err == nil {
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
	if n, _, err := s.Intake(ctx, relay.IntakeRequest{Limit: 10, Now: t0}, relay.ClaimRequest{}); n != 2 || err != nil {
		t.Fatalf("Intake after the failures = %d, %v; want both rows", n, err)
	}
}
