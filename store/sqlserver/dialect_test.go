package sqlserver

import (
	"regexp"
	"strings"
	"testing"

	"github.com/ctirelay/ctirelay/store"
)

// Syntax of the other dialects that T-SQL does not have: a statement copied
// over from PostgreSQL or SQLite and not fully translated fails here rather
// than on the first live server.
var foreign = []struct {
	re   *regexp.Regexp
	what string
}{
	{regexp.MustCompile(`(?i)(?:^|[^@\w])LIMIT\b`), "LIMIT (T-SQL: TOP)"},
	{regexp.MustCompile(`::`), "a :: cast (T-SQL: CAST)"},
	{regexp.MustCompile(`\$\d`), "a $n placeholder (T-SQL: @pN)"},
	{regexp.MustCompile(`(?i)\bRETURNING\b`), "RETURNING (T-SQL: OUTPUT … INTO)"},
	{regexp.MustCompile(`(?i)\bON CONFLICT\b`), "ON CONFLICT (T-SQL: MERGE or UPDATE then INSERT)"},
	{regexp.MustCompile(`(?i)\bSKIP LOCKED\b|\bFOR UPDATE\b`), "row locking clauses (T-SQL: table hints)"},
	{regexp.MustCompile(`(?i)\bunnest\b|\bANY \(|\bILIKE\b|\bFILTER \(|\bLATERAL\b`), "PostgreSQL syntax"},
	{regexp.MustCompile(`\|\|`), "|| (T-SQL: +)"},
	{regexp.MustCompile(`(?i)\b(true|false)\b`), "a boolean literal (T-SQL: bit 1/0)"},
	{regexp.MustCompile(`(?i)\bnow\(\)|\bcurrent_timestamp\b`), "the server's clock (the relay writes its own)"},
	{regexp.MustCompile("`"), "a backquote"},
	{regexp.MustCompile(`(?i)\bIS DISTINCT FROM\b|\bGREATEST\(|\bLEAST\(`), "syntax of SQL Server 2022 only"},
}

// uncommented is text without its "--" comments.
func uncommented(sql string) string {
	var b strings.Builder
	for _, line := range strings.Split(sql, "\n") {
		if i := strings.Index(line, "--"); i >= 0 {
			line = line[:i]
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}

// code is text without its comments and string literals, for checking.
func code(sql string) string {
	return regexp.MustCompile(`N?'(?:[^']|'')*'`).ReplaceAllString(uncommented(sql), "''")
}

func checkTSQL(t *testing.T, name, sql string) {
	t.Helper()
	c := code(sql)
	for _, f := range foreign {
		if m := f.re.FindString(c); m != "" {
			t.Errorf("%s: %q: %s", name, m, f.what)
		}
	}
	if strings.Count(c, "(") != strings.Count(c, ")") {
		t.Errorf("%s: %d '(' and %d ')'", name, strings.Count(c, "("), strings.Count(c, ")"))
	}
	if strings.Count(strings.ReplaceAll(uncommented(sql), "''", ""), "'")%2 != 0 {
		t.Errorf("%s: an unclosed string literal", name)
	}
	if strings.Contains(c, "{{") || strings.Contains(c, "}}") {
		t.Errorf("%s: a placeholder left unrendered", name)
	}
	// what EXEC runs (a view, a table whose definition is chosen) is T-SQL too
	for _, m := range execText.FindAllStringSubmatch(uncommented(sql), -1) {
		checkTSQL(t, name+" (EXEC)", strings.ReplaceAll(m[1], "''", "'"))
	}
}

var execText = regexp.MustCompile(`EXEC \(N'((?:[^']|'')*)'\)`) // whole: not one concatenated

// TestStatementsAreTSQL checks every statement and migration, rendered with
// the custom names, for the other dialects' syntax and for balance.
func TestStatementsAreTSQL(t *testing.T) {
	t.Parallel()
	opts, err := store.Options{Schema: "cti", Prefix: "ctr_", ExplicitIDs: true}.WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	q, err := loadQueries(opts.Names())
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range q.text {
		checkTSQL(t, string(name), text)
	}
	for name, b := range q.batches {
		checkTSQL(t, string(name), b.SQL(3))
		if strings.Contains(b.SQL(3), "?") {
			t.Errorf("%s: a '?' left after numbering", name)
		}
	}
	steps, err := Migrations.Steps()
	if err != nil {
		t.Fatal(err)
	}
	checkTSQL(t, "bootstrap", Migrations.BootstrapSQL(opts.Names()))
	for _, m := range steps {
		checkTSQL(t, m.File, m.Rendered(opts.Names()))
	}
	for _, f := range floor(opts.Names()) {
		checkTSQL(t, "floor", f)
	}
	// the checker itself
	for _, bad := range []string{"SELECT 1 LIMIT 1", "SELECT $1", "x::int", "RETURNING id", "WHERE a = true", "SELECT (1"} {
		c := code(bad)
		hit := strings.Count(c, "(") != strings.Count(c, ")")
		for _, f := range foreign {
			hit = hit || f.re.MatchString(c)
		}
		if !hit {
			t.Errorf("the checker lets %q through", bad)
		}
	}
}
