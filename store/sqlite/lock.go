package sqlite

import (
	"errors"
	"fmt"
	"os"
)

// ErrAlreadyRunning is matched (errors.Is) by the error Open returns when
// another relay holds the database.
var ErrAlreadyRunning = errors.New("another ctirelay is already running")

// lockedError names the database the other relay holds.
type lockedError struct{ path string }

func (e *lockedError) Error() string {
	return "another ctirelay is already running on " + e.path +
		" (SQLite allows a single relay; use PostgreSQL or SQL Server to run several)"
}

func (e *lockedError) Is(target error) bool { return target == ErrAlreadyRunning }

// fileLock is an OS advisory lock on <db>.lock held for the life of a store.
// The OS drops it when the process dies, so a crash never leaves a stale lock.
type fileLock struct{ f *os.File }

func lockFile(dbPath string) (*fileLock, error) {
	path := dbPath + ".lock"
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open relay lock %s: %w", path, err)
	}
	held, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("take relay lock %s: %w", path, err)
	}
	if !held {
		f.Close()
		return nil, &lockedError{path: dbPath}
	}
	return &fileLock{f: f}, nil
}

// release closes the file, which drops the lock. The file itself stays: removing
// it would let a third relay lock a new file while a second one holds the old.
func (l *fileLock) release() { l.f.Close() }
