//go:build windows

package spool

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// renameNoReplace renames from to to unless to exists (errExists):
// MoveFileEx without MOVEFILE_REPLACE_EXISTING never replaces. A sharing
// violation (SIGACTI opening the file at that moment) is an ordinary error,
// retried by the caller.
func renameNoReplace(from, to string) error {
	f, err := windows.UTF16PtrFromString(from)
	if err != nil {
		return err
	}
	t, err := windows.UTF16PtrFromString(to)
	if err != nil {
		return err
	}
	err = windows.MoveFileEx(f, t, windows.MOVEFILE_WRITE_THROUGH)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, windows.ERROR_ALREADY_EXISTS), errors.Is(err, windows.ERROR_FILE_EXISTS):
		return errExists
	}
	return &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
}
