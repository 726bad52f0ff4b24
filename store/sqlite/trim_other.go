//go:build !(linux && (amd64 || arm64 || loong64 || ppc64le || s390x || riscv64 || 386 || arm) && !libc.membrk && !libc.memgrind)

package sqlite

// trimAllocator: the allocator trim is written for libc's Linux allocator
// only (trim_libc.go); elsewhere ReleaseMemory only closes the connection.
func trimAllocator() bool { return false }

const trimmedLibcVersion = ""
