//go:build windows

package spool

// syncDir: NTFS journals renames; MoveFileEx was asked to write through.
func syncDir(string) {}
