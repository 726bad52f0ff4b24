package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/lib/pq"
)

func TestFailClassifiesErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		err         error
		unavailable bool
		msg         string
	}{
		{"admin shutdown", &pq.Error{Code: "57P01", Message: "terminating connection due to administrator command"}, true,
			"claim: database unavailable: pq: terminating connection due to administrator command (57P01)"},
		{"cannot connect now", &pq.Error{Code: "57P03", Message: "the database system is starting up"}, true, ""},
		{"connection exception class", &pq.Error{Code: "08006", Message: "connection failure"}, true, ""},
		{"too many connections", &pq.Error{Code: "53300", Message: "sorry, too many clients already"}, true, ""},
		{"refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, true, ""},
		{"unexpected eof", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), true, ""},
		{"syntax error", &pq.Error{Code: "42601", Message: "syntax error"}, false, "claim: pq: syntax error (42601)"},
		{"unique violation", &pq.Error{Code: "23505", Message: "duplicate key"}, false, ""},
		{"cancelled", context.Canceled, false, "claim: context canceled"},
		{"deadline", fmt.Errorf("read: %w", context.DeadlineExceeded), false, ""},
	}
	for _, tt := range tests {
		got := fail("claim", tt.err)
		if IsUnavailable(got) != tt.unavailable {
			t.Errorf("%s: IsUnavailable(%v) = %v, want %v", tt.name, got, !tt.unavailable, tt.unavailable)
		}
		if !errors.Is(got, tt.err) {
			t.Errorf("%s: %v does not wrap %v", tt.name, got, tt.err)
		}
		if tt.msg != "" && got.Error() != tt.msg {
			t.Errorf("%s: message %q, want %q", tt.name, got.Error(), tt.msg)
		}
	}
	if fail("claim", nil) != nil {
		t.Error("fail(nil) is not nil")
	}
}
