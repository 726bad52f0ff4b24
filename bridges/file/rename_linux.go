//go:build linux

package spool

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// renameNoReplace renames from to to unless to exists (errExists). Linux
// does it atomically with renameat2(RENAME_NOREPLACE); file systems without
// it (some network ones) get link then unlink, which also fails when to
// exists.
func renameNoReplace(from, to string) error {
	err := unix.Renameat2(unix.AT_FDCWD, from, unix.AT_FDCWD, to, unix.RENAME_NOREPLACE)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.EEXIST):
		return errExists
	case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EOPNOTSUPP):
		return linkThenUnlink(from, to)
	}
	return &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
}
