package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/ctirelay/ctirelay/internal/pgtest"
)

// exitError is a non-zero exit status of mainCode.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// runCommand runs one command line as main does; a non-zero exit status is
// an exitError.
func runCommand(ctx context.Context, env *cli, args []string) error {
	if code := mainCode(ctx, env, args); code != 0 {
		return exitError(code)
	}
	return nil
}

// cliRun runs a command line in-process and returns its exit status and streams.
func cliRun(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	env, out, errs := simEnv()
	code = mainCode(context.Background(), env, args)
	return code, out.String(), errs.String()
}

// migrated is a fresh relay database made by ctirelay migrate.
func migrated(t *testing.T) string {
	t.Helper()
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "relay.db")
	if code, out, errs := cliRun(t, "migrate", "--db", dsn); code != 0 {
		t.Fatalf("migrate: %d %s %s", code, out, errs)
	}
	return dsn
}

func TestUsageErrorsExit2WithOneLine(t *testing.T) {
	t.Parallel()
	dsn := migrated(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "name a command"},
		{[]string{"bogus"}, `unknown command "bogus"`},
		{[]string{"run", "--bogus"}, "ctirelay run: unknown flag: --bogus"},
		{[]string{"run", "-bogus"}, "ctirelay run: unknown shorthand flag"},
		{[]string{"run", "extra-arg"}, `ctirelay run: unexpected argument "extra-arg"`},
		{[]string{"run", "--db", dsn, "extra-arg"}, `unexpected argument "extra-arg"`},
		{[]string{"tail", "--from", "abc", "--db", dsn}, `invalid argument "abc" for "--from"`},
		{[]string{"tail", "--from", "-5", "-f=false", "--db", dsn}, "--from: a journal id, 0 or more"}, // it printed nothing and exited 0
		{[]string{"send", "--db", dsn}, "name at least one frame"},
		{[]string{"send", "--wait", "soon", "<a><S>$"}, `invalid argument "soon"`},
		{[]string{"status", "now"}, `unexpected argument "now"`},
		{[]string{"dead"}, "ctirelay dead: name a command: drop, list, retry"},
		{[]string{"dead", "bogus"}, `unknown command "bogus" (use drop, list, retry)`},
		{[]string{"dead", "retry", "--db", dsn}, "name the dead letters to retry by id, or pass --all"},
		{[]string{"dead", "drop", "x", "--db", dsn}, `dead letter id "x" is not a number`},
		{[]string{"dead", "drop", "1", "--all", "--db", dsn}, "not both"},
		{[]string{"dead", "list", "1"}, `unexpected argument "1"`},
		{[]string{"migrate", "now"}, `unexpected argument "now"`},
		{[]string{"version", "x"}, `unexpected argument "x"`},
		{[]string{"sim", "--charset", "latin9", "--listen", "127.0.0.1:0"}, "--charset"},
		{[]string{"bench", "--agents", "0"}, "ctirelay bench: --agents must be between 1 and 99999"},
		{[]string{"completion", "tcsh"}, "tcsh"},
		{[]string{"help", "bogus"}, `unknown help topic "bogus"`},
		{[]string{"help", "dead", "bogus"}, `unknown help topic "dead bogus"`},
	} {
		code, out, errs := cliRun(t, c.args...)
		if code != 2 || !strings.Contains(errs, c.want) || strings.Count(errs, "\n") != 1 || out != "" {
			t.Errorf("ctirelay %q: exit %d, stdout %q, stderr %q; want exit 2 and one line on stderr with %q",
				c.args, code, out, errs, c.want)
		}
	}
}

// TestHelpOnEveryCommand walks the whole tree: --help and -h on every
// command exit 0 with the help on stdout, and `help CMD` shows the same.
func TestHelpOnEveryCommand(t *testing.T) {
	t.Parallel()
	var paths [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		paths = append(paths, path)
		for _, sub := range c.Commands() {
			walk(sub, append(slices.Clone(path), sub.Name()))
		}
	}
	env, _, _ := simEnv()
	walk(newRootCmd(env), nil)
	if len(paths) < 12 {
		t.Fatalf("only %d commands in the tree: %q", len(paths), paths)
	}
	for _, path := range paths {
		for _, flag := range []string{"--help", "-h", "-help"} {
			code, out, errs := cliRun(t, append(slices.Clone(path), flag)...)
			if code != 0 || !strings.Contains(out, "Usage:") || errs != "" {
				t.Errorf("ctirelay %q %s: exit %d, stderr %q, stdout %.80q", path, flag, code, errs, out)
			}
		}
	}
	for _, path := range [][]string{{"run"}, {"dead", "retry"}, {}} {
		code, out, errs := cliRun(t, append([]string{"help"}, path...)...)
		_, direct, _ := cliRun(t, append(slices.Clone(path), "--help")...)
		if code != 0 || out != direct || errs != "" {
			t.Errorf("help %q: exit %d, stderr %q, stdout %q; want %q", path, code, errs, out, direct)
		}
	}
}

func TestCompletionAndManPages(t *testing.T) {
	t.Parallel()
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		code, out, errs := cliRun(t, "completion", shell)
		if code != 0 || !strings.Contains(out, "ctirelay") || errs != "" {
			t.Errorf("completion %s: exit %d, stderr %q, %d bytes", shell, code, errs, len(out))
		}
	}
	// Completion knows the flags, after arguments too.
	code, out, _ := cliRun(t, "__complete", "dead", "retry", "5", "--d")
	if code != 0 || !strings.Contains(out, "--db") {
		t.Errorf("__complete dead retry 5 --d: exit %d, %q", code, out)
	}
	dir := filepath.Join(t.TempDir(), "man")
	if code, out, errs := cliRun(t, "man", "--dir", dir); code != 0 {
		t.Fatalf("man: exit %d %s %s", code, out, errs)
	}
	for _, page := range []string{"ctirelay.1", "ctirelay-run.1", "ctirelay-dead-retry.1", "ctirelay-completion-bash.1"} {
		b, err := os.ReadFile(filepath.Join(dir, page))
		if err != nil || !strings.Contains(string(b), ".TH \"CTIRELAY\"") {
			t.Errorf("man page %s: %v %.200q", page, err, b)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "ctirelay-man.1")); err == nil {
		t.Error("the hidden man command has a man page")
	}
	// Hidden from the command list.
	_, out, _ = cliRun(t, "--help")
	if strings.Contains(out, "man ") || !strings.Contains(out, "completion") {
		t.Errorf("ctirelay --help lists man or misses completion:\n%s", out)
	}
}

func TestLongFlags(t *testing.T) {
	t.Parallel()
	env, _, _ := simEnv()
	root := newRootCmd(env)
	for _, c := range []struct{ in, want []string }{
		{[]string{"dead", "retry", "5", "-db", "sqlite:x.db"}, []string{"dead", "retry", "5", "--db", "sqlite:x.db"}},
		{[]string{"status", "-db=sqlite:x.db", "-json"}, []string{"status", "--db=sqlite:x.db", "--json"}},
		{[]string{"tail", "-from", "0", "-f=false", "-agent", "-db"}, []string{"tail", "--from", "0", "-f=false", "--agent", "-db"}},
		{[]string{"bench", "-n", "40", "-floor=false"}, []string{"bench", "-n", "40", "--floor=false"}},
		{[]string{"send", "-wait", "0", "--", "-db"}, []string{"send", "--wait", "0", "--", "-db"}},
		{[]string{"run", "-h"}, []string{"run", "-h"}},
		{[]string{"run", "-help"}, []string{"run", "--help"}},
		{[]string{"run", "-bogus"}, []string{"run", "-bogus"}},
		{[]string{"bogus", "-db"}, []string{"bogus", "-db"}},
	} {
		if got := longFlags(root, slices.Clone(c.in)); !slices.Equal(got, c.want) {
			t.Errorf("longFlags(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestFlagsAfterArguments: the Go flag package stopped at the first argument
// (`dead letter id "--db" is not a number`).
func TestFlagsAfterArguments(t *testing.T) {
	t.Parallel()
	dsn := migrated(t)
	if code, out, errs := cliRun(t, "send", "--wait", "0", "<ana><NOPE>$", "--db", dsn); code != 1 || !strings.Contains(out, "UNKNOWN_VERB") {
		t.Fatalf("send: %d %q %q", code, out, errs)
	}
	for _, args := range [][]string{
		{"dead", "drop", "1", "--db", dsn},
		{"dead", "drop", "1", "-db", dsn},
		{"dead", "drop", "-db=" + dsn, "1"},
	} {
		code, out, errs := cliRun(t, args...)
		if errs != "" && strings.Contains(errs, "not a number") || code == 2 {
			t.Errorf("ctirelay %q: exit %d %q %q", args, code, out, errs)
		}
	}
	if code, out, errs := cliRun(t, "dead", "list", "--json", "--db", dsn); code != 0 || out != "" {
		t.Errorf("dead letter 1 not dropped: %d %q %q", code, out, errs)
	}
	// Earlier spellings of tail's follow flag.
	for _, f := range []string{"-f=false", "--f=false", "-follow=false", "--follow=false"} {
		if code, out, errs := cliRun(t, "tail", "--from", "0", f, "--db", dsn); code != 0 || !strings.Contains(out, "<ana><NOPE>$") {
			t.Errorf("tail %s: exit %d %q %q", f, code, out, errs)
		}
	}
}

// TestReadOnlyCommandsCreateNoDatabase: a mistyped path or a database that
// is not the relay's is said so, and nothing is created or changed.
func TestReadOnlyCommandsCreateNoDatabase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	empty := writeFile(t, filepath.Join(dir, "empty.db"), "")
	text := writeFile(t, filepath.Join(dir, "notes.txt"), "not a database at all\n")
	other := filepath.Join(dir, "other.db")
	db, err := sql.Open("sqlite", other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE customers (id INTEGER)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	before, _ := os.ReadFile(other)
	missing := filepath.Join(dir, "wrong", "path.db")
	missingHere := filepath.Join(dir, "typo.db")
	commands := [][]string{{"status"}, {"status", "--json"}, {"dead", "list"}, {"dead", "retry", "1"}, {"dead", "drop", "--all"},
		{"tail", "-f=false"}, {"send", "--wait", "0", "<ana><S>$"}}
	for _, c := range []struct {
		path, want string
	}{
		{missing, "no database at " + missing},
		{missingHere, "no database at " + missingHere},
		{empty, empty + " is not a ctirelay database"},
		{text, text + " is not a ctirelay database"},
		{other, other + " is not a ctirelay database"},
	} {
		for _, cmd := range commands {
			code, out, errs := cliRun(t, append(slices.Clone(cmd), "--db", "sqlite:"+c.path)...)
			if code != 1 || !strings.Contains(errs, c.want) || strings.Count(errs, "\n") != 1 || strings.Contains(errs, "no such table") {
				t.Errorf("%q on %s: exit %d, stdout %q, stderr %q; want exit 1 and %q", cmd, c.path, code, out, errs, c.want)
			}
		}
	}
	for _, p := range []string{missing, missingHere, filepath.Dir(missing)} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s was created", p)
		}
	}
	if b, _ := os.ReadFile(empty); len(b) != 0 {
		t.Errorf("the empty file was written: %d bytes", len(b))
	}
	if after, _ := os.ReadFile(other); string(after) != string(before) {
		t.Error("another application's database was changed")
	}
	// migrate is the command that creates one.
	if code, out, errs := cliRun(t, "migrate", "--db", "sqlite:"+missingHere); code != 0 {
		t.Fatalf("migrate: %d %s %s", code, out, errs)
	}
	if code, out, errs := cliRun(t, "status", "--db", "sqlite:"+missingHere); code != 0 || !strings.Contains(out, "waiting in T_TTI") {
		t.Errorf("status after migrate: %d %q %q", code, out, errs)
	}
}

func TestReadOnlyCommandsOnAPostgresDatabaseWithoutTheRelay(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	for _, cmd := range [][]string{{"status"}, {"dead", "list"}, {"tail", "-f=false"}} {
		code, out, errs := cliRun(t, append(cmd, "--db", dsn)...)
		if code != 1 || !strings.Contains(errs, "is not a ctirelay database") || strings.Contains(errs, "does not exist") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", cmd, code, out, errs)
		}
	}
	if code, out, errs := cliRun(t, "migrate", "--db", dsn); code != 0 {
		t.Fatalf("migrate: %d %s %s", code, out, errs)
	}
	if code, out, errs := cliRun(t, "status", "--db", dsn); code != 0 {
		t.Errorf("status after migrate: %d %q %q", code, out, errs)
	}
	// The relay's tables are in the default schema, not in this one.
	cfg := writeFile(t, filepath.Join(t.TempDir(), "c.yaml"), "database:\n  schema: elsewhere\n")
	if code, out, errs := cliRun(t, "status", "--db", dsn, "--config", cfg); code != 1 || !strings.Contains(errs, "is not a ctirelay database") {
		t.Errorf("status in another schema: %d %q %q", code, out, errs)
	}
}

// TestDeadRetryAndDropNameWhatTheyCouldNotDo: every id not acted on is named
// with its reason and the exit status is 1.
func TestDeadRetryAndDropNameWhatTheyCouldNotDo(t *testing.T) {
	t.Parallel()
	dsn := migrated(t)
	// Dead letters 1 and 2, refused at intake; 3 a command that died.
	if code, out, errs := cliRun(t, "send", "--wait", "0", "<ana><NOPE>$", "<ana><Q>$", "--db", dsn); code != 1 {
		t.Fatalf("send: %d %q %q", code, out, errs)
	}
	db, err := sql.Open("sqlite", strings.TrimPrefix(dsn, "sqlite:"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`INSERT INTO relay_dead (source, source_ref, agent, verb, frame, code, reason, attempts, enqueued_at, died_at)
		VALUES ('erp', '7', 'ana', 'S', '<ana><S>$', 'IN_DOUBT', 'lease lost', 3, 0, 0)`); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args         []string
		code         int
		stdout, want string
	}{
		{[]string{"dead", "retry", "99999"}, 1, "0 of 1 dead letters re-enqueued", "ctirelay dead retry: not re-enqueued: dead letter 99999: not found"},
		{[]string{"dead", "drop", "99999", "99998"}, 1, "0 of 2 dead letters dropped", "dead letters 99999, 99998: not found"},
		{[]string{"dead", "retry", "1", "2"}, 1, "0 of 2 dead letters re-enqueued", "dead letters 1, 2: cannot be retried (refused at intake"},
		{[]string{"dead", "retry", "3", "1", "99999", "3"}, 1, "1 of 3 dead letters re-enqueued", "dead letter 99999: not found; dead letter 1: cannot be retried"},
		{[]string{"dead", "retry", "--all"}, 0, "0 of 2 dead letters re-enqueued", "skipped dead letters 1, 2: cannot be retried"},
		{[]string{"dead", "drop", "2", "99999"}, 1, "1 of 2 dead letters dropped", "dead letter 99999: not found"},
		{[]string{"dead", "drop", "1"}, 0, "1 of 1 dead letters dropped", ""},
		{[]string{"dead", "drop", "--all"}, 0, "0 of 0 dead letters dropped", ""},
	} {
		code, out, errs := cliRun(t, append(c.args, "--db", dsn)...)
		if code != c.code || strings.TrimSpace(out) != c.stdout || !strings.Contains(errs, c.want) || (c.want == "" && errs != "") || strings.Count(errs, "\n") > 1 {
			t.Errorf("ctirelay %q: exit %d, stdout %q, stderr %q; want exit %d, %q and %q", c.args, code, out, errs, c.code, c.stdout, c.want)
		}
	}
}

// TestTablesEscapeControlCharacters: a frame with a newline, a tab or a
// terminal escape stays on its row.
func TestTablesEscapeControlCharacters(t *testing.T) {
	t.Parallel()
	dsn := migrated(t)
	frame := "<ana><NO\nPE\t\x1b[31m>$"
	if code, out, errs := cliRun(t, "send", "--wait", "0", frame, "--db", dsn); code != 1 {
		t.Fatalf("send: %d %q %q", code, out, errs)
	}
	code, out, errs := cliRun(t, "dead", "list", "--db", dsn)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if code != 0 || len(lines) != 2 || !strings.Contains(lines[1], `<ana><NO\nPE\t\x1b[31m>$`) {
		t.Errorf("dead list: exit %d, stderr %q, rows %q", code, errs, lines)
	}
	code, out, _ = cliRun(t, "dead", "list", "--json", "--db", dsn)
	if code != 0 || !strings.Contains(out, `"frame":"<ana><NO\nPE\t\u001b[31m>$"`) {
		t.Errorf("dead list --json changed the frame: %q", out)
	}
	code, out, _ = cliRun(t, "tail", "--from", "0", "-f=false", "--db", dsn)
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if code != 0 || strings.ContainsAny(l, "\t\x1b") || (strings.Contains(l, " in ") && !strings.Contains(l, `<ana><NO\nPE\t\x1b[31m>$`)) {
			t.Errorf("tail line %q (exit %d)", l, code)
		}
	}
}

func TestCell(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"<jose><S>$", "<jose><S>$"},
		{"Serviço São Paulo", "Serviço São Paulo"},
		{"a b", "a b"},
		{"a\nb", `a\nb`},
		{"a\r\nb", `a\r\nb`},
		{"a\tb", `a\tb`},
		{"\x1b[2J", `\x1b[2J`},
		{"\x00\x7f", `\x00\x7f`},
		{"\u0085\u2028\u202e", `\u0085\u2028\u202e`},
		{"c:\\records\\7001.wav", `c:\records\7001.wav`},
		{"jos\xe9", `jos\xe9`},
		{"\ufffd", "\ufffd"},
		{"\u00a0", `\u00a0`},
	} {
		if got := cell(c.in); got != c.want {
			t.Errorf("cell(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := clip("ação", 2); got != "a…" {
		t.Errorf("clip cut a character: %q", got)
	}
}
