package postgres

import (
	"errors"
	"testing"
	"time"
)

func TestLiterals(t *testing.T) {
	t.Parallel()
	var l literals
	l.texts([]string{"a", "o'brien", `back\slash`})
	l.texts(nil)
	l.text("")
	l.int(-7)
	l.ints([]int64{1, 0, 3})
	l.ints(nil)
	l.bool(true)
	l.bools([]bool{true, false})
	l.time(time.Date(2025, 3, 14, 9, 0, 0, 123456789, time.FixedZone("BRT", -3*3600)))
	got, err := l.String()
	if err != nil {
		t.Fatal(err)
	}
	want := `ARRAY['a','o''brien', E'back\\slash']::text[],'{}'::text[],''::text,-7,'{1,0,3}'::int[],'{}'::int[],` +
		`true,'{t,f}'::bool[],'2025-03-14T12:00:00.123456Z'::timestamptz`
	if got != want {
		t.Fatalf("literals:\n got %s\nwant %s", got, want)
	}
}

// A NUL cannot be stored in text, and would end the query string early.
func TestLiteralsRefuseNUL(t *testing.T) {
	t.Parallel()
	var l literals
	l.texts([]string{"ok", "a\x00b"})
	l.int(1)
	if _, err := l.String(); !errors.Is(err, errNUL) {
		t.Fatalf("String() error = %v, want errNUL", err)
	}
}
