//go:build !linux && !windows

package spool

// renameNoReplace renames from to to unless to exists (errExists).
func renameNoReplace(from, to string) error { return linkThenUnlink(from, to) }
