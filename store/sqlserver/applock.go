package sqlserver

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
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

// errLockHeld is what lockSession says when another session holds the
// lock and it was asked not to wait.
var errLockHeld = errors.New("lock held by another session")

func isLockHeld(err error) bool { return errors.Is(err, errLockHeld) }

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

// SessionLock is an applock held by a session on a dedicated connection:
// the pool resets a session when it hands its connection out again
// (sp_reset_connection), which would drop the lock, so the connection is
// taken out of the pool for as long as the lock is held. An error on that
// connection means the lock may be gone: leadership is lost.
type SessionLock struct {
	conn     *sql.Conn
	resource string
}

// lockSession takes the session applock resource on a connection of db of
// its own, waiting up to wait (0: fail at once when it is held, with
// errLockHeld).
func lockSession(ctx context.Context, db *sql.DB, resource string, wait time.Duration) (*SessionLock, error) {
	c, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	if err := getAppLock(ctx, c, resource, "Session", wait); err != nil {
		_ = c.Close()
		var ae *applockError
		if wait == 0 && errors.As(err, &ae) && ae.status == applockTimeout {
			return nil, fmt.Errorf("%w: %w", errLockHeld, err)
		}
		return nil, err
	}
	return &SessionLock{conn: c, resource: resource}, nil
}

// Check asks the server whether the session still holds the lock: an
// error, or a lock no longer held, means leadership is lost.
func (l *SessionLock) Check(ctx context.Context) error {
	var mode string
	err := l.conn.QueryRowContext(ctx, `SELECT APPLOCK_MODE(N'public', @p1, 'Session')`, l.resource).Scan(&mode)
	if err != nil {
		return fail("check applock "+l.resource, err)
	}
	if mode == "NoLock" {
		return fmt.Errorf("applock %s: no longer held", l.resource)
	}
	return nil
}

// Release releases the lock and hands the connection back. When the release
// fails the connection is discarded, so a lock never stays behind in the pool.
func (l *SessionLock) Release(ctx context.Context) error {
	err := releaseAppLock(context.WithoutCancel(ctx), l.conn, l.resource)
	if err != nil {
		_ = l.conn.Raw(func(any) error { return errBadConn })
	}
	cerr := l.conn.Close()
	return errors.Join(err, cerr)
}

// errBadConn makes database/sql discard a connection (sql.Conn.Raw).
var errBadConn = driver.ErrBadConn
