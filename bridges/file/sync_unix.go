//go:build !windows

package spool

import (
	"os"
	"syscall"
)

// openRequestFlags: a link in Tx is not followed, a FIFO does not block.
const openRequestFlags = syscall.O_NOFOLLOW | syscall.O_NONBLOCK

// syncDir makes the renames in dir durable.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
