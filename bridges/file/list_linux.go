//go:build linux

package spool

import (
	"bytes"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// direntBuf is the size of one getdents64 read: a Tx of 10,000 names in
// two system calls rather than forty (os.File.Readdirnames reads 8 KiB).
const direntBuf = 256 << 10

// readNames calls each with every name in dir except . and .., as bytes
// valid only during the call: a name is made a string only if kept, so a
// Tx full of unrelated files costs no allocation per file.
func (b *Bridge) readNames(dir string, each func(name []byte)) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: dir, Err: err}
	}
	defer unix.Close(fd)
	if b.dirents == nil {
		b.dirents = make([]byte, direntBuf)
	}
	buf := b.dirents
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return &os.PathError{Op: "getdents", Path: dir, Err: err}
		}
		if n <= 0 {
			return nil
		}
		// struct linux_dirent64: ino u64, off s64, reclen u16, type u8,
		// name NUL-terminated.
		for rec := buf[:n]; len(rec) >= 19; {
			reclen := int(*(*uint16)(unsafe.Pointer(&rec[16])))
			if reclen < 19 || reclen > len(rec) {
				break
			}
			name := rec[19:reclen]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			if !(len(name) == 1 && name[0] == '.' || len(name) == 2 && name[0] == '.' && name[1] == '.') {
				each(name)
			}
			rec = rec[reclen:]
		}
	}
}
