package sqlite

import (
	"context"
	"errors"
	"fmt"

	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/ctirelay/ctirelay/relay"
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
	if dataRejected(se.Code()) {
		return fmt.Errorf("%s: %w: %w", op, relay.ErrDataRejected, err)
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

// dataRejected reports a result code the data of a message causes, so the
// same write can never succeed: a CHECK, NOT NULL or trigger of the ERP's
// (RAISE(ABORT) is a constraint error), a value over SQLite's size limit or
// of the wrong type for a STRICT table. A duplicate key is not one: it means
// a numbering clash, not a bad message.
func dataRejected(code int) bool {
	switch code {
	case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_ROWID:
		return false
	}
	switch code & 0xff {
	case sqlite3.SQLITE_CONSTRAINT, sqlite3.SQLITE_TOOBIG, sqlite3.SQLITE_MISMATCH:
		return true
	}
	return false
}

// isDataError reports a raw driver error dataRejected classifies as caused
// by the data written.
func isDataError(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && dataRejected(se.Code())
}

// driverMessage is the database's own message in err, for the records of a
// refused write.
func driverMessage(err error) string {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Error()
	}
	return err.Error()
}

// errCount reports the database returning a different number of rows than a
// statement must produce: a bug, never silently accepted.
func errCount(what string, got, want int) error {
	return fmt.Errorf("%s: database returned %d rows, want %d", what, got, want)
}
