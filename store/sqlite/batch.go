package sqlite

import (
	"strings"

	"github.com/ctirelay/ctirelay/store"
)

// maxRows bounds the rows of one multi-row statement. With at most 11
// parameters a row this stays far below SQLite's 32766 bound parameters,
// while one statement still carries a whole typical batch.
const maxRows = 500

// batch is a statement over many rows: head, n row tuples joined by sep
// (", " when empty), tail. fixed parameters come before the tuples' ones.
type batch struct {
	head, tuple, sep, tail string
	params                 int // per tuple
	fixed                  int
}

func (b batch) render(names map[string]string) *batch {
	b.head = store.Render(b.head, names)
	b.tail = store.Render(b.tail, names)
	if b.sep == "" {
		b.sep = ", "
	}
	return &b
}

// sql is the statement for n rows.
func (b *batch) sql(n int) string {
	var s strings.Builder
	s.Grow(len(b.head) + n*(len(b.tuple)+len(b.sep)) + len(b.tail))
	s.WriteString(b.head)
	for i := 0; i < n; i++ {
		if i > 0 {
			s.WriteString(b.sep)
		}
		s.WriteString(b.tuple)
	}
	s.WriteString(b.tail)
	return s.String()
}

// each calls fn for consecutive runs of at most maxRows of n rows.
func each(n int, fn func(lo, hi int) error) error {
	for lo := 0; lo < n; lo += maxRows {
		if err := fn(lo, min(lo+maxRows, n)); err != nil {
			return err
		}
	}
	return nil
}
