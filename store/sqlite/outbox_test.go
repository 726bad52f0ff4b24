package sqlite_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/store"
	"github.com/ctirelay/ctirelay/store/sqlite"
)

// An ERP's own T_TTO without AUTOINCREMENT may number a new row as one it
// deleted: the marks refuse, so no row is ever aged by another's mark.
func TestOutboxMarksRefuseATTOThatReusesIDs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, c := range []struct {
		ddl  string
		fail bool
	}{
		{"CREATE TABLE t_tto (IS_TTO INTEGER PRIMARY KEY, DS_TTO TEXT NOT NULL)", true},
		{"CREATE TABLE t_tto (IS_TTO INTEGER PRIMARY KEY AUTOINCREMENT, DS_TTO TEXT NOT NULL)", false},
	} {
		path := filepath.Join(t.TempDir(), "erp.db")
		db := openSQLite(t, path)
		if _, err := db.Exec(c.ddl + "; INSERT INTO t_tto (DS_TTO) VALUES ('<ana><OK>$')"); err != nil {
			t.Fatal(err)
		}
		s := openStore(t, path, store.Options{}, sqlite.Config{})
		err := s.MarkOutbox(ctx, time.Now())
		if c.fail != (err != nil) || (c.fail && !strings.Contains(err.Error(), "no AUTOINCREMENT")) {
			t.Errorf("%s: MarkOutbox: %v", c.ddl, err)
		}
	}
}
