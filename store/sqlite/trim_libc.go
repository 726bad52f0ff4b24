//go:build linux && (amd64 || arm64 || loong64 || ppc64le || s390x || riscv64 || 386 || arm) && !libc.membrk && !libc.memgrind

package sqlite

import (
	"runtime/debug"
	"sync"
	_ "unsafe" // go:linkname

	"modernc.org/memory"
)

// modernc.org/libc's malloc is a memory.Allocator in a package variable,
// guarded by a mutex, and libc exports no way to trim it (C's malloc_trim is
// not there). These are those two variables, as in libc_musl.go of the
// versions trimmedVersions names, for these platforms and build tags.
//
//go:linkname libcAllocator modernc.org/libc.allocator
var libcAllocator memory.Allocator

//go:linkname libcAllocatorMu modernc.org/libc.allocatorMu
var libcAllocatorMu sync.Mutex

// trimmedLibc is the modernc.org/libc version whose allocator variables were
// read and matched to the two above (memory.Allocator is the same type on
// both sides: one modernc.org/memory per build). Another version may have
// changed them, and a different type there would corrupt memory, so with any
// other the trim is skipped; TestTrimmedLibcIsRequired fails when go.mod
// moves, asking for a new look.
const trimmedLibc = "v1.77.1"

var canTrim = sync.OnceValue(func() bool {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	if len(info.Deps) == 0 {
		return true // a test binary lists no modules: the test checks go.mod's
	}
	for _, m := range info.Deps {
		if m.Path == "modernc.org/libc" {
			return m.Version == trimmedLibc && m.Replace == nil
		}
	}
	return false
})

// trimAllocator returns to the system the empty regions libc's allocator
// keeps for reuse (memory.Allocator.Trim); pages holding live allocations
// stay. It reports whether it trimmed.
func trimAllocator() bool {
	if !canTrim() {
		return false
	}
	libcAllocatorMu.Lock()
	defer libcAllocatorMu.Unlock()
	_ = libcAllocator.Trim() // an munmap error leaves the region mapped: nothing to do about it
	return true
}

const trimmedLibcVersion = trimmedLibc
