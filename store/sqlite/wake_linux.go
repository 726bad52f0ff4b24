package sqlite

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// fileEvents fires when a file of the database (the main file, its WAL or
// rollback journal) is written, by any process: inotify on the directory,
// which also sees a WAL created after the watch began.
type fileEvents struct {
	f    *os.File
	c    chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

func watchFiles(path string) (*fileEvents, error) {
	fd, err := syscall.InotifyInit1(syscall.IN_NONBLOCK | syscall.IN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if _, err := syscall.InotifyAddWatch(fd, dir, syscall.IN_MODIFY|syscall.IN_CREATE|syscall.IN_MOVED_TO); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("inotify %s: %w", dir, err)
	}
	// Non-blocking: the runtime's poller waits, and Close ends a Read.
	e := &fileEvents{f: os.NewFile(uintptr(fd), "inotify"), c: make(chan struct{}, 1)}
	names := [][]byte{[]byte(base), []byte(base + "-wal"), []byte(base + "-journal")}
	e.wg.Go(func() { e.read(names) })
	return e, nil
}

func (e *fileEvents) read(names [][]byte) {
	buf := make([]byte, 64*(syscall.SizeofInotifyEvent+syscall.NAME_MAX+1))
	for {
		n, err := e.f.Read(buf)
		if err != nil {
			if !errors.Is(err, os.ErrClosed) {
				// Nothing to report to: the watcher's slow look and the
				// engine's poll carry on.
				close(e.c)
			}
			return
		}
		for off := 0; off+syscall.SizeofInotifyEvent <= n; {
			ev := (*syscall.InotifyEvent)(unsafe.Pointer(&buf[off]))
			name := buf[off+syscall.SizeofInotifyEvent : off+syscall.SizeofInotifyEvent+int(ev.Len)]
			name = bytes.TrimRight(name, "\x00")
			off += syscall.SizeofInotifyEvent + int(ev.Len)
			for _, want := range names {
				if bytes.Equal(name, want) {
					wake(e.c)
					break
				}
			}
		}
		// A commit writes the WAL once per page, each write an event. The
		// kernel merges identical events that wait unread, so a short pause
		// here turns a commit's writes into one or two events instead of
		// one wake-up each; the first event of a burst still comes at once.
		time.Sleep(readPause)
	}
}

// readPause is how long the reader lets events gather after a read.
const readPause = time.Millisecond

func (e *fileEvents) close() {
	e.once.Do(func() {
		e.f.Close()
		e.wg.Wait()
	})
}
