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

	"github.com/ctirelay/ctirelay/relay"
)

func TestFailClassifiesErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		err         error
		unavailable bool
		msg         string
		data        bool // matches relay.ErrDataRejected
	}{
		{"admin shutdown", &pq.Error{Code: "57P01", Message: "terminating connection due to administrator command"}, true,
			"claim: database unavailable: pq: terminating connection due to administrator command (57P01)", false},
		{"cannot connect now", &pq.Error{Code: "57P03", Message: "the database system is starting up"}, true, "", false},
		{"connection exception class", &pq.Error{Code: "08006", Message: "connection failure"}, true, "", false},
		{"too many connections", &pq.Error{Code: "53300", Message: "sorry, too many clients already"}, true, "", false},
		{"refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, true, "", false},
		{"unexpected eof", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), true, "", false},
		{"syntax error", &pq.Error{Code: "42601", Message: "syntax error"}, false, "claim: pq: syntax error (42601)", false},
		{"unique violation", &pq.Error{Code: "23505", Message: "duplicate key"}, false, "", false},
		{"value too long", &pq.Error{Code: "22001", Message: "value too long for type character varying(60)"}, false,
			"claim: the database refused the data: pq: value too long for type character varying(60) (22001)", true},
		{"untranslatable", &pq.Error{Code: "22P05", Message: "character has no equivalent in encoding LATIN1"}, false, "", true},
		{"bad byte sequence", &pq.Error{Code: "22021", Message: "invalid byte sequence for encoding UTF8: 0x00"}, false, "", true},
		{"check constraint", &pq.Error{Code: "23514", Message: "violates check constraint"}, false, "", true},
		{"trigger raise", &pq.Error{Code: "P0001", Message: "no recordings here"}, false, "", true},
		{"serialization failure", &pq.Error{Code: "40001", Message: "could not serialize access"}, false, "", false},
		{"deadlock", &pq.Error{Code: "40P01", Message: "deadlock detected"}, false, "", false},
		{"cancelled", context.Canceled, false, "claim: context canceled", false},
		{"deadline", fmt.Errorf("read: %w", context.DeadlineExceeded), false, "", false},
	}
	for _, tt := range tests {
		got := fail("claim", tt.err)
		if IsUnavailable(got) != tt.unavailable {
			t.Errorf("%s: IsUnavailable(%v) = %v, want %v", tt.name, got, !tt.unavailable, tt.unavailable)
		}
		if errors.Is(got, relay.ErrDataRejected) != tt.data {
			t.Errorf("%s: errors.Is(%v, ErrDataRejected) = %v, want %v", tt.name, got, !tt.data, tt.data)
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
