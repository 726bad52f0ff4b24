package sqlserver

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"time"

	mssql "github.com/microsoft/go-mssqldb"
)

// sp_getapplock returns a status rather than raising an error: a lock that
// was not granted must be noticed by reading it (a migrator that ignored it
// once ran without the lock it thought it held).
const (
	applockGranted        mssql.ReturnStatus = 0    // granted at once
	applockGrantedWaited  mssql.ReturnStatus = 1    // granted after waiting for others to release it
	applockTimeout        mssql.ReturnStatus = -1   // not granted within @LockTimeout
	applockCancelled      mssql.ReturnStatus = -2   // the request was cancelled
	applockDeadlockVictim mssql.ReturnStatus = -3   // chosen as a deadlock victim
	applockCallError      mssql.ReturnStatus = -999 // a parameter or call error
)

// applockError is a lock sp_getapplock did not grant, with its status.
type applockError struct {
	resource string
	status   mssql.ReturnStatus
}

func (e *applockError) Error() string {
	what := "unknown status"
	switch e.status {
	case applockTimeout:
		what = "not granted in time"
	case applockCancelled:
		what = "request cancelled"
	case applockDeadlockVictim:
		what = "chosen as deadlock victim"
	case applockCallError:
		what = "parameter or call error"
	}
	return fmt.Sprintf("applock %s: %s (status %d)", e.resource, what, int32(e.status))
}

// Unwrap makes a timeout and a deadlock ErrTransient: the store retries the
// transaction. A cancellation or an error is not retried.
func (e *applockError) Unwrap() error {
	if e.status == applockTimeout || e.status == applockDeadlockVictim {
		return ErrTransient
	}
	return nil
}

// applockStatus turns sp_getapplock's status into nil (granted) or an
// *applockError.
func applockStatus(resource string, st mssql.ReturnStatus) error {
	if st == applockGranted || st == applockGrantedWaited {
		return nil
	}
	return &applockError{resource: resource, status: st}
}

// execer runs a stored procedure: *sql.Tx, *sql.Conn.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// getAppLock calls sp_getapplock as a procedure (so the driver hands back
// its return status) and checks the status. owner is "Transaction" (released
// at commit or rollback) or "Session" (held until released or the session
// ends).
func getAppLock(ctx context.Context, c execer, resource, owner string, timeout time.Duration) error {
	var st mssql.ReturnStatus
	_, err := c.ExecContext(ctx, "sp_getapplock",
		sql.Named("Resource", resource),
		sql.Named("LockMode", vc("Exclusive")),
		sql.Named("LockOwner", vc(owner)),
		sql.Named("LockTimeout", int32(timeout/time.Millisecond)),
		sql.Named("DbPrincipal", "public"),
		&st)
	if err != nil {
		return fmt.Errorf("applock %s: %w", resource, err)
	}
	return applockStatus(resource, st)
}

// releaseAppLock releases a session applock; a status other than 0 means it
// was not held.
func releaseAppLock(ctx context.Context, c execer, resource string) error {
	var st mssql.ReturnStatus
	_, err := c.ExecContext(ctx, "sp_releaseapplock",
		sql.Named("Resource", resource),
		sql.Named("LockOwner", vc("Session")),
		sql.Named("DbPrincipal", "public"),
		&st)
	if err != nil {
		return fmt.Errorf("release applock %s: %w", resource, err)
	}
	if st != 0 {
		return fmt.Errorf("release applock %s: not held (status %d)", resource, int32(st))
	}
	return nil
}

// errBadConn makes database/sql discard a connection (sql.Conn.Raw).
var errBadConn = driver.ErrBadConn
