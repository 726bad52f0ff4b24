package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
	"github.com/ctirelay/ctirelay/store/sqlite"
)

// ReleaseMemory closes the pooled connection (what frees SQLite's caches),
// and the next statement gets a fresh one with the same settings.
func TestReleaseMemoryClosesTheIdleConnection(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "x.db")
	s := openStore(t, path, store.Options{}, sqlite.Config{Synchronous: "normal", BusyTimeout: 750 * time.Millisecond})
	pragma(t, s, "busy_timeout")
	if n := s.DB().Stats().MaxIdleClosed; n != 0 {
		t.Fatalf("MaxIdleClosed = %d before ReleaseMemory", n)
	}
	s.ReleaseMemory()
	if n := s.DB().Stats().MaxIdleClosed; n != 1 {
		t.Fatalf("MaxIdleClosed = %d after ReleaseMemory, want 1 (the idle connection closed)", n)
	}
	for name, want := range map[string]string{"synchronous": "1", "busy_timeout": "750", "temp_store": "2", "journal_mode": "wal"} {
		if got := pragma(t, s, name); got != want {
			t.Errorf("after ReleaseMemory: %s = %s, want %s", name, got, want)
		}
	}
	if n := s.DB().Stats().Idle; n != 1 {
		t.Errorf("idle connections = %d, want the new one kept", n)
	}
	erp := erpHandle(t, path, time.Second)
	if _, err := erp.Exec(`INSERT INTO T_TTI (DS_TTI) VALUES ('<a1><P><ON><1>$')`); err != nil {
		t.Fatal(err)
	}
	if n, _, err := s.Intake(ctx, relay.IntakeRequest{Limit: 10, Now: time.Now()}, relay.ClaimRequest{}); err != nil || n != 1 {
		t.Fatalf("intake after ReleaseMemory = %d, %v; want 1", n, err)
	}
}
