package sqlite

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/ctirelay/ctirelay/store"
)

// bareLimit is a LIMIT that is a bound parameter alone (?, ?5): SQLite then
// prepares the statement again every time the parameter is bound (see the
// note at the top of queries.go).
var bareLimit = regexp.MustCompile(`(?i)\bLIMIT\s+\?\d*\s*(\)|$|,|OFFSET\b)`)

// Every statement the store keeps prepared writes its LIMIT as an
// expression, so that it stays prepared.
func TestNoStatementRepreparesOnItsLimit(t *testing.T) {
	t.Parallel()
	q := reflect.ValueOf(*renderQueries(store.Options{}.Names()))
	var texts []string
	for i := range q.NumField() {
		switch f := q.Field(i); f.Kind() {
		case reflect.String:
			texts = append(texts, f.String())
		case reflect.Pointer:
			// unexported: read Head and Tail through reflection
			b := f.Elem()
			texts = append(texts, b.FieldByName("Head").String()+b.FieldByName("Tuple").String()+b.FieldByName("Tail").String())
		}
	}
	if len(texts) < 20 {
		t.Fatalf("found %d statements: the test no longer sees the store's queries", len(texts))
	}
	for _, s := range texts {
		if bareLimit.MatchString(s) {
			t.Errorf("a bare bound LIMIT (write it ? + 0):\n%s", s)
		}
	}
	for _, s := range []string{"SELECT 1 FROM t LIMIT ?", "DELETE FROM t WHERE id IN (SELECT id FROM t LIMIT ?5)"} {
		if !bareLimit.MatchString(s) {
			t.Errorf("the pattern misses %q", s)
		}
	}
}

// Statements built elsewhere in the package (the jobs', the outbox's, the
// embedded files) follow the rule too: read from the source, since not
// every one of them is kept in the prepared set.
func TestNoSourceStatementHasABareLimit(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	sqls, _ := filepath.Glob("sql/*.sql")
	files = append(files, sqls...)
	src := regexp.MustCompile("(?im)\\b(LIMIT|OFFSET)\\s+\\?\\d*\\s*(\\)|$|,|`|OFFSET\\b)")
	checked := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, m := range src.FindAllString(string(b), -1) {
			t.Errorf("%s: a bare bound %q (write it ? + 0)", f, m)
		}
	}
	if checked < 10 {
		t.Fatalf("read %d files: the test no longer sees the package's source", checked)
	}
}
