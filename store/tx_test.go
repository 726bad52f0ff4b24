package store_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctirelay/ctirelay/store"
)

func TestInTx(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "tx.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE t (v INTEGER)`); err != nil {
		t.Fatal(err)
	}
	insert := func(tx *sql.Tx) error { _, err := tx.Exec(`INSERT INTO t VALUES (1)`); return err }
	count := func() (n int) {
		t.Helper()
		if err := db.QueryRow(`SELECT count(*) FROM t`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if err := store.InTx(ctx, db, nil, insert); err != nil || count() != 1 {
		t.Fatalf("committed: %v, %d rows", err, count())
	}
	boom := errors.New("boom")
	err = store.InTx(ctx, db, nil, func(tx *sql.Tx) error { _ = insert(tx); return boom })
	if err != boom || count() != 1 {
		t.Fatalf("failed fn: %v, %d rows; want boom and the insert rolled back", err, count())
	}
	func() {
		defer func() { _ = recover() }()
		_ = store.InTx(ctx, db, nil, func(tx *sql.Tx) error { _ = insert(tx); panic("fn") })
	}()
	if count() != 1 {
		t.Fatalf("panicking fn: %d rows, want its insert rolled back", count())
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := store.InTx(cancelled, db, nil, insert); err == nil || !strings.HasPrefix(err.Error(), "begin: ") {
		t.Fatalf("cancelled: %v", err)
	}
}
