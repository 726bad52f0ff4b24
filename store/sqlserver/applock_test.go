package sqlserver

import (
	"context"
	"database/sql/driver"
	"errors"
	"strings"
	"testing"

	mssql "github.com/microsoft/go-mssqldb"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

// Every status sp_getapplock documents: 0 and 1 grant the lock, the others
// refuse it, each as an error that says which it was; a timeout and a
// deadlock are transient (the transaction is run again), a cancellation and
// an error are not.
func TestApplockStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status    mssql.ReturnStatus
		granted   bool
		transient bool
		msg       string
	}{
		{0, true, false, ""},
		{1, true, false, ""},
		{-1, false, true, "applock x: not granted in time (status -1)"},
		{-2, false, false, "applock x: request cancelled (status -2)"},
		{-3, false, true, "applock x: chosen as deadlock victim (status -3)"},
		{-999, false, false, "applock x: parameter or call error (status -999)"},
		{-7, false, false, "applock x: unknown status (status -7)"},
	}
	for _, tt := range tests {
		err := applockStatus("x", tt.status)
		if (err == nil) != tt.granted {
			t.Errorf("status %d: err = %v", tt.status, err)
			continue
		}
		if err == nil {
			continue
		}
		if errors.Is(err, ErrTransient) != tt.transient {
			t.Errorf("status %d: transient = %v", tt.status, !tt.transient)
		}
		if err.Error() != tt.msg {
			t.Errorf("status %d: %q, want %q", tt.status, err.Error(), tt.msg)
		}
	}
}

// Intake reads the applock's status: a lock not granted stops the intake
// before it takes a row (and a transient one is tried again); granted, it
// goes on. The lock is requested as a procedure call, owned by the
// transaction, exclusive, with a timeout, on a resource naming the inbox.
func TestIntakeChecksTheApplockStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status   mssql.ReturnStatus
		ok       bool
		attempts int
	}{
		{0, true, 1},
		{1, true, 1},
		{-1, false, txAttempts},
		{-2, false, 1},
		{-3, false, txAttempts},
		{-999, false, 1},
	}
	for _, tt := range tests {
		s, f := fakeStore(t, store.Options{Prefix: "x_"}, func(c call) reply {
			switch c.name {
			case "sp_getapplock":
				return reply{status: tt.status}
			case string(qAnyTTI):
				return reply{rows: scripted(c).rows}
			}
			return reply{}
		})
		_, _, err := s.Intake(context.Background(), relay.IntakeRequest{Limit: 5, Now: t0}, relay.ClaimRequest{})
		if (err == nil) != tt.ok {
			t.Errorf("status %d: err = %v", tt.status, err)
		}
		locks, takes := 0, 0
		for _, c := range f.Calls() {
			switch c.name {
			case "sp_getapplock":
				locks++
				got := map[string]any{}
				for _, a := range c.args {
					got[a.Name] = a.Value
				}
				if got["Resource"] != "ctirelay:intake:x_inbox" || got["LockOwner"] != vc("Transaction") ||
					got["LockMode"] != vc("Exclusive") || got["LockTimeout"] != int32(lockWait.Milliseconds()) {
					t.Errorf("status %d: sp_getapplock args %v", tt.status, got)
				}
			case string(qTakeTTI):
				takes++
			}
		}
		if locks != tt.attempts {
			t.Errorf("status %d: %d lock requests, want %d", tt.status, locks, tt.attempts)
		}
		if !tt.ok && takes != 0 {
			t.Errorf("status %d: took rows without the lock", tt.status)
		}
		if tt.ok && takes != 1 {
			t.Errorf("status %d: %d takes", tt.status, takes)
		}
		if !tt.ok && f.commits != 0 {
			t.Errorf("status %d: committed without the lock", tt.status)
		}
	}
}

// A session applock asked for without waiting reads another holder (status
// -1) as not held, with no error, and any other refusal as an error; granted,
// Check asks the server whether the session still holds it, and Release
// releases it.
func TestSessionAppLock(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		status mssql.ReturnStatus
		mode   string // what APPLOCK_MODE answers
		held   bool
		err    string // of Take, or of Check when held
	}{
		{0, "Exclusive", true, ""},
		{0, "NoLock", true, "no longer held"},
		{-1, "", false, ""},
		{-3, "", false, "deadlock victim"},
		{-999, "", false, "parameter or call error"},
	} {
		released := 0
		s, f := fakeStore(t, store.Options{}, func(c call) reply {
			switch {
			case c.name == "sp_releaseapplock":
				released++
			case strings.Contains(c.query, "APPLOCK_MODE"):
				return reply{rows: [][]driver.Value{{tt.mode}}}
			}
			return reply{status: tt.status}
		})
		ctx := context.Background()
		conn, err := s.db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		lk := sessionAppLock("ctirelay:monitor")
		held, err := lk.Take(ctx, conn)
		if held != tt.held || !tt.held && (tt.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.err) {
			t.Errorf("status %d: Take = %v, %v", tt.status, held, err)
		}
		if !held {
			_ = conn.Close()
			continue
		}
		if err := lk.Check(ctx, conn); (tt.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.err) {
			t.Errorf("status %d, mode %s: Check = %v", tt.status, tt.mode, err)
		}
		if err := lk.Release(ctx, conn); err != nil || released != 1 {
			t.Errorf("Release: %v, %d releases", err, released)
		}
		_ = conn.Close()
		if n := len(f.Calls()); n != 3 {
			t.Errorf("%d calls", n)
		}
	}
}

// TryLock: a lock another session holds (status -1 with no wait) is not
// held and no error; a granted one is lost when the store closes, and its
// release, twice, is harmless. The resource names the installation.
func TestTryLock(t *testing.T) {
	t.Parallel()
	status := mssql.ReturnStatus(-1)
	var resources []any
	s, f := fakeStore(t, store.Options{Schema: "cti"}, func(c call) reply {
		if c.name == "sp_getapplock" {
			for _, a := range c.args {
				if a.Name == "Resource" {
					resources = append(resources, a.Value)
				}
				if a.Name == "LockOwner" && a.Value != vc("Session") || a.Name == "LockTimeout" && a.Value != int32(0) {
					t.Errorf("sp_getapplock %s = %v", a.Name, a.Value)
				}
			}
		}
		return reply{status: status}
	})
	ctx := context.Background()
	held, lost, release, err := s.TryLock(ctx, relay.LockMonitor)
	if err != nil || held || lost != nil || release != nil {
		t.Fatalf("TryLock of a held lock = %v, %v, %v", held, lost, err)
	}
	status = 0
	held, lost, release, err = s.TryLock(ctx, relay.LockMonitor)
	if err != nil || !held {
		t.Fatalf("TryLock = %v, %v", held, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-lost:
	default:
		t.Error("the lock of a closed store is not lost")
	}
	release()
	release()
	if want := "ctirelay:" + relay.LockMonitor + "@cti.relay_inbox"; len(resources) != 2 || resources[1] != want {
		t.Errorf("resources %v, want %q", resources, want)
	}
	if _, _, _, err := s.TryLock(ctx, relay.LockMonitor); !errors.Is(err, ErrClosed) {
		t.Errorf("TryLock on a closed store: %v", err)
	}
	_ = f
}
