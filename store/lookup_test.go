package store_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	"github.com/ctirelay/ctirelay/store"
)

func TestCustomerQuery(t *testing.T) {
	t.Parallel()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "lookup.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE tiers (code TEXT, name TEXT, tel TEXT);
		INSERT INTO tiers VALUES ('C001', 'Dupont SA', '0388202122'), ('C002', NULL, '0388000000')`); err != nil {
		t.Fatal(err)
	}
	q, err := store.NewCustomerQuery(db, `SELECT code, name FROM tiers WHERE tel = ?`)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		number, code, name string
		found              bool
	}{
		{"0388202122", "C001", "Dupont SA", true},
		{"0388000000", "C002", "", true},
		{"0100000000", "", "", false},
	} {
		code, name, found, err := q.Lookup(context.Background(), tc.number)
		if err != nil || code != tc.code || name != tc.name || found != tc.found {
			t.Errorf("Lookup(%s) = %q, %q, %v, %v; want %q, %q, %v", tc.number, code, name, found, err, tc.code, tc.name, tc.found)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, _, err := q.Lookup(ctx, "0388202122"); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled lookup returned %v", err)
	}
	for _, bad := range []string{"", "DELETE FROM tiers", "SELECT 1; DROP TABLE tiers"} {
		if _, err := store.NewCustomerQuery(db, bad); err == nil {
			t.Errorf("NewCustomerQuery(%q) accepted", bad)
		}
	}
}
