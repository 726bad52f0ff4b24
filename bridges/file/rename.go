package spool

import (
	"errors"
	"os"
)

// errExists: the answer file is still there (Protheus has not read it).
var errExists = errors.New("answer file exists")

// linkThenUnlink is the portable no-replace rename: a hard link fails when
// to exists; the temporary name is removed once the link is made (a crash in
// between leaves a stale temporary file, removed at the next start).
func linkThenUnlink(from, to string) error {
	if err := os.Link(from, to); err != nil {
		if errors.Is(err, os.ErrExist) {
			return errExists
		}
		return err
	}
	return os.Remove(from)
}
