package bench

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// residentBytes is the process's resident set now, from /proc/self/statm.
func residentBytes() (int64, bool) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, false
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0, false
	}
	pages, err := strconv.ParseInt(string(f[1]), 10, 64)
	if err != nil {
		return 0, false
	}
	return pages * int64(os.Getpagesize()), true
}

// loadAverage is the 1, 5 and 15 minute load averages, from /proc/loadavg:
// other work on the machine shows in every figure, so the report says it.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := bytes.Fields(b)
	if len(f) < 3 {
		return ""
	}
	return string(bytes.Join(f[:3], []byte(" ")))
}

// processCPU is the user and system time of this process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// clockTick is USER_HZ, the unit of /proc/<pid>/stat's times: 100 on every
// Linux architecture Go supports.
const clockTick = 100

// clusterCPU is the CPU a PostgreSQL cluster has used so far: the
// postmaster's own and its reaped children's (backends that exited), plus
// its live children's, from /proc (the postmaster's pid is postmaster.pid's
// first line). Not ok when the cluster is not on this machine.
func clusterCPU(pidFile string) (time.Duration, bool) {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return 0, false
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	pid := string(bytes.TrimSpace(line))
	own, ok := statTicks(pid, true)
	if !ok {
		return 0, false
	}
	total := own
	tasks, _ := filepath.Glob(filepath.Join("/proc", pid, "task", "*", "children"))
	for _, t := range tasks {
		c, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, child := range bytes.Fields(c) {
			if n, ok := statTicks(string(child), false); ok {
				total += n
			}
		}
	}
	return time.Duration(total) * time.Second / clockTick, true
}

// statTicks is utime + stime of /proc/<pid>/stat, with cutime + cstime
// when reaped is set, in clock ticks.
func statTicks(pid string, reaped bool) (int64, bool) {
	b, err := os.ReadFile(filepath.Join("/proc", pid, "stat"))
	if err != nil {
		return 0, false
	}
	// the command name (field 2) may hold spaces: fields count from its ')'
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := bytes.Fields(b[i+1:])
	// f[0] is field 3 (state); utime is field 14, so f[11]
	if len(f) < 15 {
		return 0, false
	}
	n := 4
	if !reaped {
		n = 2
	}
	var sum int64
	for _, v := range f[11 : 11+n] {
		x, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return 0, false
		}
		sum += x
	}
	return sum, true
}
