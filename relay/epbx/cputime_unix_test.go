//go:build unix

package epbx_test

import (
	"syscall"
	"time"
)

// cpuTime is the process's user and system CPU time so far: a figure the
// machine's other load does not inflate the way it does wall-clock latency.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
