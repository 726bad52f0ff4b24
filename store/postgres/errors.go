package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

// ErrUnavailable marks failures caused by the database being unreachable or
// restarting (connection refused or reset, admin shutdown, too many
// connections). They are transient: the engine keeps polling and a later call
// succeeds once the server is back. Test with errors.Is or IsUnavailable.
var ErrUnavailable = errors.New("database unavailable")

// ErrClosed is returned by every call on a Store after Close.
var ErrClosed = store.ErrClosed

// IsUnavailable reports whether err means the database could not be reached
// (as opposed to a query the database refused).
func IsUnavailable(err error) bool { return errors.Is(err, ErrUnavailable) }

// fail wraps a driver error with the operation that met it, translating
// connection-level failures into ErrUnavailable. Context errors stay
// recognisable with errors.Is.
func fail(op string, err error) error {
	if err == nil {
		return nil
	}
	if unavailable(err) {
		return fmt.Errorf("%s: %w: %w", op, ErrUnavailable, err)
	}
	if dataRejected(err) {
		return fmt.Errorf("%s: %w: %w", op, relay.ErrDataRejected, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// dataRejected reports an error the data of a message causes, so the same
// write can never succeed: a value too long for the ERP's column or bytes
// its encoding cannot hold (class 22), a constraint of the ERP's (class 23),
// an error its trigger raises. A unique violation is not one: on T_TTO it
// means the ERP numbered rows the identity hands out later, and the next
// try draws another number. Serialization failures and deadlocks (class 40)
// stay retryable.
func dataRejected(err error) bool {
	pe := pq.As(err)
	if pe == nil {
		return false
	}
	switch pe.Code {
	case pqerror.UniqueViolation:
		return false
	case pqerror.RaiseException, pqerror.AssertFailure:
		return true
	}
	switch pe.Code.Class() {
	case pqerror.ClassDataException, pqerror.ClassIntegrityConstraintViolation, pqerror.ClassTriggeredDataChangeViolation:
		return true
	}
	return false
}

func unavailable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if pe := pq.As(err); pe != nil {
		switch pe.Code {
		case pqerror.AdminShutdown, pqerror.CrashShutdown, pqerror.CannotConnectNow, pqerror.TooManyConnections:
			return true
		}
		return pe.Code.Class() == pqerror.ClassConnectionException
	}
	var ne net.Error
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.As(err, &ne)
}

// driverMessage is the database's own message in err, for the records of a
// refused write.
func driverMessage(err error) string {
	if pe := pq.As(err); pe != nil {
		return pe.Error()
	}
	return err.Error()
}
