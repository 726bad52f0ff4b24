package pgtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// TestSweepStale: directories of test binaries that are gone are removed;
// those of live ones (this binary) and half-made ones are left alone.
func TestSweepStale(t *testing.T) {
	t.Parallel()
	// a pid that surely belongs to nobody: a child that has exited
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skipf("no 'true' to obtain a dead pid: %v", err)
	}
	dead := cmd.Process.Pid
	tests := []struct {
		name  string
		owner string // content of owner.pid; "-" for no file
		kept  bool
	}{
		{"owner gone", strconv.Itoa(dead), false},
		{"owner alive", strconv.Itoa(os.Getpid()), true},
		{"not initialised yet", "-", true},
		{"garbage owner", "x", true},
	}
	dirs := make([]string, len(tests))
	for i, tt := range tests {
		dir, err := os.MkdirTemp("", dirPattern)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.RemoveAll(dir) })
		if tt.owner != "-" {
			if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(tt.owner), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		dirs[i] = dir
	}
	sweepStale()
	for i, tt := range tests {
		_, err := os.Stat(dirs[i])
		if kept := err == nil; kept != tt.kept {
			t.Errorf("%s: kept = %v, want %v", tt.name, kept, tt.kept)
		}
	}
}
