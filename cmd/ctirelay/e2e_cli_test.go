package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestE2ECommandLine runs the built binary through the command-line rules:
// usage errors exit 2 and start nothing, flags go anywhere (single-dash
// long ones too), read-only commands create nothing, help is on stdout.
func TestE2ECommandLine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, c := range []struct {
		args       []string
		code       int
		out, erred string
	}{
		{nil, 2, "", "ctirelay: name a command"},
		{[]string{"run", "extra-arg"}, 2, "", `ctirelay run: unexpected argument "extra-arg"`},
		{[]string{"run", "--bogus"}, 2, "", "unknown flag: --bogus"},
		{[]string{"tail", "--from", "abc"}, 2, "", `invalid argument "abc"`},
		{[]string{"nope"}, 2, "", `unknown command "nope"`},
		{[]string{"status", "--db", "sqlite:wrong/path.db"}, 1, "", "ctirelay status: no database at wrong/path.db"},
		{[]string{"dead", "list", "-db", "sqlite:r.db"}, 1, "", "no database at r.db"},
		{[]string{"migrate", "-db", "sqlite:r.db"}, 0, "applied 0001 init", "schema migrated"},
		{[]string{"send", "--wait", "0", "<ana><NOPE>$", "-db", "sqlite:r.db"}, 1, "UNKNOWN_VERB", "1 of 1 frames rejected"},
		{[]string{"dead", "retry", "1", "--db", "sqlite:r.db"}, 1, "0 of 1 dead letters re-enqueued", "dead letter 1: cannot be retried"},
		{[]string{"dead", "retry", "99999", "--db", "sqlite:r.db"}, 1, "0 of 1 dead letters re-enqueued", "dead letter 99999: not found"},
		{[]string{"dead", "drop", "1", "-db", "sqlite:r.db"}, 0, "1 of 1 dead letters dropped", ""},
		{[]string{"run", "--help"}, 0, "--socket-listen", ""},
		{[]string{"help", "run"}, 0, "--socket-listen", ""},
		{[]string{"completion", "bash"}, 0, "__start_ctirelay", ""},
	} {
		out, errOut, code := ctl(t, dir, c.args...)
		if code != c.code || !strings.Contains(out, c.out) || !strings.Contains(errOut, c.erred) || (c.erred == "" && errOut != "") {
			t.Errorf("ctirelay %q: exit %d, stdout %q, stderr %q; want exit %d, %q, %q", c.args, code, out, errOut, c.code, c.out, c.erred)
		}
		if c.code == 2 && (out != "" || strings.Count(errOut, "\n") != 1) {
			t.Errorf("ctirelay %q: a usage error is one line on stderr: stdout %q, stderr %q", c.args, out, errOut)
		}
	}
	for _, p := range []string{"ctirelay.db", "wrong"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
			t.Errorf("%s was created", p)
		}
	}
}
