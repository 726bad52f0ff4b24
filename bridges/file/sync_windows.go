//go:build windows

package spool

// syncDir: NTFS journals renames; MoveFileEx was asked to write through.
func syncDir(string) {}

// openRequestFlags: Windows opens no FIFO by name, and SIGACTI makes no links.
const openRequestFlags = 0
