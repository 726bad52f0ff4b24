package sqlite

import (
	"reflect"
	"regexp"
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
