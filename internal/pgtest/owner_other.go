//go:build !unix

package pgtest

import (
	"os"
	"os/exec"
)

// owner is the account the cluster runs as. Off Unix (Windows) PostgreSQL's
// own rule against an administrator account is left to the developer: the
// cluster runs as the test binary's user.
type owner struct{}

func currentOwner() (owner, error) { return owner{}, nil }

// command builds a command with a neutral locale and no inherited PG*
// variables, as on Unix.
func (owner) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Env = []string{"LC_ALL=C", "LANG=C", "PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	return cmd
}

func (owner) chown(string) error { return nil }

// alive reports whether a process exists; FindProcess opens a handle on
// Windows and fails when there is none.
func alive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	_ = p.Release()
	return true
}
