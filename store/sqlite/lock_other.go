//go:build !(linux || darwin || freebsd || openbsd || netbsd || dragonfly || windows)

package sqlite

import (
	"errors"
	"os"
)

// tryLock cannot guard the database on this system; refusing is safer than
// letting two relays share one SQLite file unknowingly.
func tryLock(*os.File) (bool, error) {
	return false, errors.New("no file locking on this system; run without exclusive mode")
}
