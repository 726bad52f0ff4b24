package sqlite

import (
	"context"
	"errors"
	"fmt"

	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// ErrBusy is matched (errors.Is) when another writer (the ERP, a CLI) held
// the database longer than the busy timeout; the call can be retried.
var ErrBusy = errors.New("database busy")

// fail translates a driver error at the package boundary: a short phrase
// for the operation, a sentinel where callers may branch, and the context's
// own error when the call was cancelled (the driver may report an interrupt
// instead).
func fail(ctx context.Context, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%s: %w", op, cerr)
	}
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return fmt.Errorf("%s: %w", op, err)
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_BUSY:
		return fmt.Errorf("%s: %w: %w", op, ErrBusy, err)
	case sqlite3.SQLITE_FULL:
		return fmt.Errorf("%s: disk full: %w", op, err)
	case sqlite3.SQLITE_READONLY:
		return fmt.Errorf("%s: database is read-only: %w", op, err)
	case sqlite3.SQLITE_IOERR:
		return fmt.Errorf("%s: disk I/O error: %w", op, err)
	case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
		return fmt.Errorf("%s: database file is damaged: %w", op, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// errCount reports the database returning a different number of rows than a
// statement must produce: a bug, never silently accepted.
func errCount(what string, got, want int) error {
	return fmt.Errorf("%s: database returned %d rows, want %d", what, got, want)
}
