package main

import (
	"strings"
	"testing"
)

// jobs run refuses what it cannot do before it records a run: a period
// for a job that has none, a period it cannot read or that is empty.
func TestJobsRunRefusesABadPeriod(t *testing.T) {
	t.Parallel()
	dsn := migrated(t)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"retention", "--from", "2026-12-01", "--to", "2026-12-02"}, 2, "--from and --to give reconcile its period; retention has none"},
		{[]string{"reconcile", "--from", "2026-12-01"}, 2, "give both --from and --to"},
		{[]string{"reconcile", "--from", "yesterday", "--to", "2026-12-02"}, 1, `--from: "yesterday" is neither RFC 3339`},
		{[]string{"reconcile", "--from", "2026-12-02", "--to", "2026-12-01"}, 1, "--to must be after --from"},
		{[]string{"nope"}, 2, `no job "nope"`},
	} {
		code, out, errs := cliRun(t, append([]string{"jobs", "run", "--db", dsn}, c.args...)...)
		if code != c.code || !strings.Contains(errs, c.want) || out != "" {
			t.Errorf("jobs run %q: exit %d, stdout %q, stderr %q; want exit %d and %q", c.args, code, out, errs, c.code, c.want)
		}
	}
	if code, out, _ := cliRun(t, "jobs", "list", "--json", "--db", dsn); code != 0 || strings.Contains(out, `"last_status"`) {
		t.Fatalf("jobs list after the refusals: %d %s (no run may be recorded)", code, out)
	}
}
