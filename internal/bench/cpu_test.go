package bench

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"
)

func TestPerCommand(t *testing.T) {
	t.Parallel()
	before := cpuSample{process: time.Second, server: 2 * time.Second, serverOK: true}
	after := cpuSample{process: 3 * time.Second, server: 6 * time.Second, serverOK: true}
	for _, c := range []struct {
		name            string
		before, after   cpuSample
		commands        int64
		process, server float64
	}{
		{"both read", before, after, 1000, 2000, 4000},
		{"server not read", cpuSample{process: time.Second}, cpuSample{process: 3 * time.Second}, 1000, 2000, 0},
		{"no commands", before, after, 0, 0, 0},
	} {
		p, s := perCommand(c.before, c.after, c.commands)
		if p != c.process || s != c.server {
			t.Errorf("%s: perCommand = %v, %v; want %v, %v", c.name, p, s, c.process, c.server)
		}
	}
}

func TestClusterCPUReadsAProcessTree(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("/proc is Linux's")
	}
	// This process as the "postmaster": its own time, after some work.
	pidFile := filepath.Join(t.TempDir(), "postmaster.pid")
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())+"\n/data\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for start := time.Now(); time.Since(start) < 30*time.Millisecond; {
	}
	if d, ok := clusterCPU(pidFile); !ok || d <= 0 {
		t.Errorf("clusterCPU = %v, %v; want this process's CPU", d, ok)
	}
	if _, ok := clusterCPU(filepath.Join(t.TempDir(), "missing.pid")); ok {
		t.Error("clusterCPU read a cluster with no postmaster.pid")
	}
	if processCPU() <= 0 {
		t.Error("processCPU read nothing")
	}
}
