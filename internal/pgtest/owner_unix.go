//go:build unix

package pgtest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// owner is the operating-system account the cluster runs as. initdb and
// postgres refuse to run as root, so under root the cluster belongs to the
// "postgres" system user that Debian's packages create.
type owner struct {
	cred *syscall.Credential // nil: run as ourselves
	home string
}

func currentOwner() (owner, error) {
	if os.Geteuid() != 0 {
		return owner{}, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return owner{}, fmt.Errorf("running as root, and PostgreSQL refuses to: no \"postgres\" system user to run the test cluster as (%v); create one (useradd --system postgres) or run the tests as another user", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return owner{}, fmt.Errorf("postgres user id %q: %w", u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return owner{}, fmt.Errorf("postgres group id %q: %w", u.Gid, err)
	}
	return owner{cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, home: u.HomeDir}, nil
}

// command builds a command that runs as the owner, in a new process group so
// a terminal's Ctrl-C reaches the test binary (which then stops the cluster
// in order) rather than the server directly.
func (o owner) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A neutral locale and no inherited PG* variables: the cluster must not
	// depend on the developer's environment.
	env := []string{"LC_ALL=C", "LANG=C", "PATH=" + os.Getenv("PATH")}
	if o.cred != nil {
		cmd.SysProcAttr.Credential = o.cred
		env = append(env, "HOME="+o.home, "USER=postgres")
	} else {
		env = append(env, "HOME="+os.Getenv("HOME"))
	}
	cmd.Env = env
	return cmd
}

// chown gives the owner every file under dir (when running as root).
func (o owner) chown(dir string) error {
	if o.cred == nil {
		return nil
	}
	return filepath.Walk(dir, func(path string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, int(o.cred.Uid), int(o.cred.Gid))
	})
}

// alive reports whether a process exists (signal 0 checks without sending).
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
