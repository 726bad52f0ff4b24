package pgtest

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// dirPattern names cluster directories; ownerFile inside holds the pid of the
// test binary that made it.
const (
	dirPattern = "ctirelay-pgtest-*"
	ownerFile  = "owner.pid"
)

// sweepStale removes clusters left behind by test binaries that died without
// running Main's cleanup (killed on a timeout, SIGKILL): their server is
// stopped and their directory deleted. Errors are ignored: this is tidying.
func sweepStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPattern))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue // not initialised yet by its owner, or not ours
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || alive(pid) {
			continue
		}
		data := filepath.Join(dir, "data")
		if _, err := os.Stat(filepath.Join(data, "postmaster.pid")); err == nil {
			if bin, err := findBinDir(); err == nil {
				if own, err := currentOwner(); err == nil {
					_ = own.command(filepath.Join(bin, "pg_ctl"), "stop", "-D", data, "-m", "immediate", "-w").Run()
				}
			}
		}
		_ = os.RemoveAll(dir)
	}
}
