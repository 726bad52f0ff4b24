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

	mssql "github.com/microsoft/go-mssqldb"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

// The store's own errors: callers test them with errors.Is, and never see
// which driver error number stood behind them unless they unwrap.
var (
	// ErrUnavailable marks failures caused by the database being unreachable
	// or going away (connection refused or reset, server shutting down, the
	// database offline or in recovery). They are transient: a later call
	// succeeds once the server is back.
	ErrUnavailable = errors.New("database unavailable")
	// ErrTransient marks a transaction SQL Server ended to keep others
	// moving: chosen as a deadlock victim (1205), a lock wait timed out
	// (1222), an applock not granted in time or given up for a deadlock.
	// The store retries such a transaction itself a few times before
	// returning it.
	ErrTransient = errors.New("transient lock conflict")
	// ErrLogin is a login SQL Server refused (18456, 4060 …): wrong
	// credentials or database, or no permission to connect. Not transient.
	ErrLogin = errors.New("login refused")
	// ErrClosed is returned by every call on a Store after Close.
	ErrClosed = store.ErrClosed
)

// IsUnavailable reports whether err means the database could not be reached.
func IsUnavailable(err error) bool { return errors.Is(err, ErrUnavailable) }

// SQL Server error numbers the store translates.
const (
	errDeadlockVictim  = 1205 // transaction chosen as deadlock victim (rolled back)
	errLockTimeout     = 1222 // lock request time out period exceeded
	errLoginFailed     = 18456
	errCannotOpenDB    = 4060 // cannot open database requested by the login
	errLoginNoDB       = 18452
	errDBNotAvailable  = 40613 // Azure SQL: database not currently available
	errShuttingDown    = 6005  // SHUTDOWN is in progress
	errKilled          = 596   // session is in the kill state
	errDBInRecovery    = 922   // database is being recovered
	errDBRecovering    = 927   // database cannot be opened: in the middle of a restore
	errTooManySessions = 17809 // maximum user connections reached
	errServerPaused    = 17142 // server is paused
	errAzureBusy       = 40501 // Azure SQL: service is busy
	errAzureResources  = 49918 // Azure SQL: not enough resources to process request
	errAzureFailover   = 40197 // Azure SQL: error processing the request (failover)
)

// fail wraps a driver error with the operation that met it and, where it
// says what kind of failure it was, with one of the store's errors. Context
// errors stay recognisable with errors.Is.
func fail(op string, err error) error {
	if err == nil {
		return nil
	}
	if kind := classify(err); kind != nil && !errors.Is(err, kind) {
		return fmt.Errorf("%s: %w: %w", op, kind, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// classify returns the store error err is an instance of, or nil.
func classify(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	if errors.Is(err, ErrClosed) || errors.Is(err, ErrTransient) || errors.Is(err, ErrLogin) || errors.Is(err, ErrUnavailable) ||
		errors.Is(err, relay.ErrDataRejected) {
		return nil // already translated
	}
	var se mssql.ServerError
	var st mssql.StreamError
	if errors.As(err, &se) || errors.As(err, &st) {
		// a fatal error: the server severed the connection
		return ErrUnavailable
	}
	var me mssql.Error
	if errors.As(err, &me) {
		if dataRejected(me.Number) {
			return relay.ErrDataRejected
		}
		switch me.Number {
		case errDeadlockVictim, errLockTimeout:
			return ErrTransient
		case errLoginFailed, errCannotOpenDB, errLoginNoDB:
			return ErrLogin
		case errShuttingDown, errKilled, errDBInRecovery, errDBRecovering, errTooManySessions, errServerPaused,
			errDBNotAvailable, errAzureBusy, errAzureResources, errAzureFailover:
			return ErrUnavailable
		}
		if me.Class >= 20 {
			// severity 20 and above ends the connection
			return ErrUnavailable
		}
		return nil
	}
	var ne net.Error
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.As(err, &ne) {
		return ErrUnavailable
	}
	return nil
}

// dataRejected reports an error number the data of a message causes, so the
// same write can never succeed: a value too long for the ERP's column
// (2628, 8152 before SQL Server 2019), a CHECK or foreign key (547), a NULL
// (515), a value that does not convert (245, 8114, 8115), or a trigger of
// the ERP's that rolled back (3609) or raised its own error (50000 and
// above). A duplicate key (2627, 2601) is not one: it means a numbering
// clash, not a bad message.
func dataRejected(number int32) bool {
	switch number {
	case 2628, 8152, 547, 515, 245, 8114, 8115, 3609:
		return true
	}
	return number >= 50000
}

// isDataError reports a driver error dataRejected classifies as caused by
// the data written.
func isDataError(err error) bool {
	var me mssql.Error
	return errors.As(err, &me) && dataRejected(me.Number)
}

// driverMessage is the database's own message in err, for the records of a
// refused write.
func driverMessage(err error) string {
	var me mssql.Error
	if errors.As(err, &me) {
		return me.Error()
	}
	return err.Error()
}

// transient reports whether a transaction that failed with err may simply
// be run again.
func transient(err error) bool {
	return errors.Is(err, ErrTransient) || classify(err) == ErrTransient
}
