//go:build !linux

package sqlite

import "errors"

// fileEvents is Linux's inotify (wake_linux.go); elsewhere the watcher
// looks every few milliseconds.
type fileEvents struct{ c chan struct{} }

func watchFiles(string) (*fileEvents, error) {
	return nil, errors.New("no file events on this system")
}

func (e *fileEvents) close() {}
