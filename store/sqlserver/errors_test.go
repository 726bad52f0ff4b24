package sqlserver

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	mssql "github.com/microsoft/go-mssqldb"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

// TestFailTranslatesErrors: driver errors become the store's own, told
// apart by errors.Is, still wrapping what the driver said.
func TestFailTranslatesErrors(t *testing.T) {
	t.Parallel()
	loginFailed := mssql.Error{Number: 18456, Class: 14, Message: "login error: Login failed for user 'relay'."}
	tests := []struct {
		name string
		err  error
		want error // nil: no store error
		msg  string
	}{
		{"deadlock victim", mssql.Error{Number: 1205, Class: 13, Message: "Transaction (Process ID 57) was deadlocked"}, ErrTransient,
			"claim: transient lock conflict: mssql: Transaction (Process ID 57) was deadlocked (1205)"},
		{"lock timeout", mssql.Error{Number: 1222, Class: 16, Message: "Lock request time out period exceeded."}, ErrTransient, ""},
		{"wrapped deadlock", fmt.Errorf("settle: %w", mssql.Error{Number: 1205}), ErrTransient, ""},
		{"login failed", loginFailed, ErrLogin, "claim: login refused: mssql: login error: Login failed for user 'relay'. (18456)"},
		{"cannot open database", mssql.Error{Number: 4060, Class: 11, Message: "Cannot open database \"erp\""}, ErrLogin, ""},
		{"shutting down", mssql.Error{Number: 6005, Class: 14, Message: "SHUTDOWN is in progress."}, ErrUnavailable, ""},
		{"database recovering", mssql.Error{Number: 922, Class: 14}, ErrUnavailable, ""},
		{"fatal severity", mssql.Error{Number: 5, Class: 20, Message: "fatal"}, ErrUnavailable, ""},
		{"server error", mssql.ServerError{}, ErrUnavailable, ""},
		{"stream error", mssql.StreamError{InnerError: io.ErrUnexpectedEOF}, ErrUnavailable, ""},
		{"refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, ErrUnavailable, ""},
		{"reset", fmt.Errorf("read: %w", syscall.ECONNRESET), ErrUnavailable, ""},
		{"eof", io.EOF, ErrUnavailable, ""},
		{"bad connection", driver.ErrBadConn, ErrUnavailable, ""},
		{"connection done", sql.ErrConnDone, ErrUnavailable, ""},
		{"syntax error", mssql.Error{Number: 102, Class: 15, Message: "Incorrect syntax near 'x'."}, nil, "claim: mssql: Incorrect syntax near 'x'. (102)"},
		{"truncation", mssql.Error{Number: 2628, Class: 16, Message: "String or binary data would be truncated"}, relay.ErrDataRejected,
			"claim: the database refused the data: mssql: String or binary data would be truncated (2628)"},
		{"truncation before 2019", mssql.Error{Number: 8152, Class: 16}, relay.ErrDataRejected, ""},
		{"check constraint", mssql.Error{Number: 547, Class: 16}, relay.ErrDataRejected, ""},
		{"null", mssql.Error{Number: 515, Class: 16}, relay.ErrDataRejected, ""},
		{"trigger rolled back", mssql.Error{Number: 3609, Class: 16}, relay.ErrDataRejected, ""},
		{"trigger's own error", mssql.Error{Number: 50001, Class: 16, Message: "DS_TTO holds 60 characters at most"}, relay.ErrDataRejected, ""},
		{"duplicate key", mssql.Error{Number: 2627, Class: 14}, nil, ""},
		{"duplicate index key", mssql.Error{Number: 2601, Class: 14}, nil, ""},
		{"cancelled", context.Canceled, nil, "claim: context canceled"},
		{"deadline", fmt.Errorf("read: %w", context.DeadlineExceeded), nil, ""},
		{"applock timeout", applockStatus("r", applockTimeout), ErrTransient, ""},
	}
	kinds := []error{ErrTransient, ErrLogin, ErrUnavailable, ErrClosed, relay.ErrDataRejected}
	for _, tt := range tests {
		got := fail("claim", tt.err)
		for _, k := range kinds {
			if errors.Is(got, k) != (k == tt.want) {
				t.Errorf("%s: errors.Is(%v, %v) = %v", tt.name, got, k, !(k == tt.want))
			}
		}
		if !wraps(got, tt.err) {
			t.Errorf("%s: %v does not wrap %v", tt.name, got, tt.err)
		}
		if tt.msg != "" && got.Error() != tt.msg {
			t.Errorf("%s: message %q, want %q", tt.name, got.Error(), tt.msg)
		}
	}
	if fail("claim", nil) != nil {
		t.Error("fail(nil) is not nil")
	}
	// translating twice adds nothing
	once := fail("claim", mssql.Error{Number: 1205})
	if twice := fail("settle", once); twice.Error() != "settle: "+once.Error() {
		t.Errorf("translated twice: %v", twice)
	}
}

// A transaction SQL Server ends as a deadlock victim or on a lock timeout
// is run again, and its error returned once it failed txAttempts times;
// another error is returned at once.
func TestTransactionsRetriedOnDeadlockAndLockTimeout(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		fails    int // how many times the claim fails first
		err      error
		attempts int
		want     error
	}{
		{"deadlock once", 1, mssql.Error{Number: 1205}, 2, nil},
		{"lock timeout twice", 2, mssql.Error{Number: 1222}, 3, nil},
		{"deadlock every time", 99, mssql.Error{Number: 1205}, txAttempts, ErrTransient},
		{"syntax error", 99, mssql.Error{Number: 102}, 1, nil},
		{"connection lost", 99, io.EOF, 1, ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := 0
			s, f := fakeStore(t, store.Options{}, func(c call) reply {
				if c.name != string(qClaim) {
					return reply{}
				}
				n++
				if n <= tt.fails {
					return reply{err: tt.err}
				}
				return reply{}
			})
			_, err := s.Claim(context.Background(), relay.ClaimRequest{Owner: "r", Limit: 1, Now: t0, LeaseUntil: later})
			if n != tt.attempts {
				t.Errorf("claim ran %d times, want %d", n, tt.attempts)
			}
			succeeds := tt.fails < tt.attempts
			if succeeds != (err == nil) {
				t.Fatalf("err = %v", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if f.rollbacks != min(n, tt.fails) {
				t.Errorf("%d rollbacks after %d failures", f.rollbacks, min(n, tt.fails))
			}
		})
	}
}

// wraps reports whether got wraps want; an mssql.Error holds a slice, so
// errors.Is cannot compare it, and its number is compared instead.
func wraps(got, want error) bool {
	var w mssql.Error
	if errors.As(want, &w) {
		var g mssql.Error
		return errors.As(got, &g) && g.Number == w.Number && g.Message == w.Message
	}
	return errors.Is(got, want)
}
