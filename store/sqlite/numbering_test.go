package sqlite_test

import (
	"cmp"
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
	"github.com/ctirelay/ctirelay/store/sqlite"
)

// AUTOINCREMENT numbers past the largest IS_TTI ever held, so one row with
// the largest integer left it nothing to give: every later default-numbered
// insert failed with "database or disk is full", even once the relay had
// taken the row. On the T_TTI the relay created, taking an IS_TTI above
// 2^62 - 1 brings the numbering back to the rows still there; below that the
// numbering is never touched (an id is never given twice).
func TestTTINumberingAfterAHugeIsTti(t *testing.T) {
	t.Parallel()
	const top = 9223372036854775807
	tests := []struct {
		name     string
		own      bool    // the ERP created T_TTI (with AUTOINCREMENT too)
		table    string  // configured inbound table; "" is T_TTI
		explicit []int64 // inserted before the first intake
		wantNext int64   // the default number once the relay took them all; 0: still refused
	}{
		{"largest", false, "", []int64{top}, 1},
		{"largest, other name", false, "ERP_IN", []int64{top}, 1},
		{"largest among others", false, "", []int64{5, 1<<62 + 7, top, 9}, 1},
		{"just above the threshold", false, "", []int64{1 << 62}, 1},
		{"below the threshold", false, "", []int64{1<<62 - 1}, 1 << 62},
		{"the ERP's own table", true, "", []int64{top}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "relay.db")
			erp := erpHandle(t, path, 10*time.Second)
			tti := cmp.Or(tt.table, "T_TTI")
			if tt.own {
				if _, err := erp.Exec(`CREATE TABLE ` + tti + ` (IS_TTI INTEGER PRIMARY KEY AUTOINCREMENT, DS_TTI TEXT NOT NULL)`); err != nil {
					t.Fatal(err)
				}
			}
			s := openStore(t, path, store.Options{InboundTable: tt.table}, sqlite.Config{})
			for _, id := range tt.explicit {
				if _, err := erp.Exec(`INSERT INTO `+tti+` VALUES (?, '<jose><S>$')`, id); err != nil {
					t.Fatal(err)
				}
			}
			if slices.Max(tt.explicit) == top {
				if _, err := erp.Exec(`INSERT INTO ` + tti + ` (DS_TTI) VALUES ('<ana><S>$')`); err == nil || !strings.Contains(err.Error(), "full") {
					t.Fatalf("default insert with IS_TTI %d in T_TTI: %v, want SQLite's 'database or disk is full'", int64(top), err)
				}
			}
			// taken one at a time: the largest last
			for range tt.explicit {
				if n, _, err := s.Intake(ctx, relay.IntakeRequest{Limit: 1, Now: time.Now()}, relay.ClaimRequest{}); err != nil || n != 1 {
					t.Fatalf("Intake = %d, %v", n, err)
				}
			}
			var got int64
			err := erp.QueryRow(`INSERT INTO ` + tti + ` (DS_TTI) VALUES ('<ana><S>$') RETURNING IS_TTI`).Scan(&got)
			switch {
			case tt.wantNext == 0 && err == nil:
				t.Fatalf("default insert into the ERP's own table gave %d: its numbering was changed", got)
			case tt.wantNext == 0:
			case err != nil:
				t.Fatalf("default insert after the relay took every row: %v", err)
			case got != tt.wantNext:
				t.Fatalf("default number %d, want %d", got, tt.wantNext)
			}
			if tt.wantNext != 0 {
				if n, _, err := s.Intake(ctx, relay.IntakeRequest{Limit: 10, Now: time.Now()}, relay.ClaimRequest{}); err != nil || n != 1 {
					t.Fatalf("Intake of the default-numbered row = %d, %v", n, err)
				}
			}
		})
	}
}

// Rows still in T_TTI when a large IS_TTI is taken are past it (intake goes
// in IS_TTI order): the numbering goes on past them, and comes back only
// when the relay has taken them too.
func TestTTINumberingResumesPastTheRowsLeft(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "relay.db")
	erp := erpHandle(t, path, 10*time.Second)
	s := openStore(t, path, store.Options{}, sqlite.Config{})
	const h1, h2 = 1<<62 + 1, 1<<62 + 100
	if _, err := erp.Exec(`INSERT INTO T_TTI VALUES (?, '<jose><S>$'), (?, '<ana><S>$')`, h1, h2); err != nil {
		t.Fatal(err)
	}
	if n, _, err := s.Intake(ctx, relay.IntakeRequest{Limit: 1, Now: time.Now()}, relay.ClaimRequest{}); err != nil || n != 1 {
		t.Fatalf("Intake = %d, %v", n, err)
	}
	if got := defaultNumber(t, erp); got != h2+1 {
		t.Fatalf("default number %d with %d left, want %d", got, int64(h2), int64(h2+1))
	}
	if n, _, err := s.Intake(ctx, relay.IntakeRequest{Limit: 10, Now: time.Now()}, relay.ClaimRequest{}); err != nil || n != 2 {
		t.Fatalf("Intake = %d, %v", n, err)
	}
	if got := defaultNumber(t, erp); got != 1 {
		t.Fatalf("default number %d in an empty T_TTI, want 1", got)
	}
}

func defaultNumber(t *testing.T, db *sql.DB) int64 {
	t.Helper()
	var id int64
	if err := db.QueryRow(`INSERT INTO T_TTI (DS_TTI) VALUES ('<ana><S>$') RETURNING IS_TTI`).Scan(&id); err != nil {
		t.Fatalf("default insert: %v", err)
	}
	return id
}
