package sqlite

import (
	"strings"

	"github.com/ctirelay/ctirelay/schema"
)

// maxRows bounds the rows of one multi-row statement. With at most 11
// parameters a row this stays far below SQLite's 32766 bound parameters,
// while one statement still carries a whole typical batch.
const maxRows = 512

// batch is a statement over many rows: head, n row tuples joined by sep
// (", " when empty), tail. fixed parameters come before the tuples' ones.
type batch struct {
	head, tuple, sep, tail string
	params                 int // per tuple
	fixed                  int
}

func (b batch) render(names map[string]string) *batch {
	b.head = schema.Render(b.head, names)
	b.tail = schema.Render(b.tail, names)
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

// each calls fn for consecutive runs of n rows, each run a power of two of
// at most maxRows rows (largest first): a statement for 1000 rows is one of
// 512, 256, 128, 64, 32 and 8, so a handful of statement texts cover every
// batch and stay prepared (see cachingConn).
func each(n int, fn func(lo, hi int) error) error {
	for lo := 0; lo < n; {
		size := maxRows
		for size > n-lo {
			size /= 2
		}
		if err := fn(lo, lo+size); err != nil {
			return err
		}
		lo += size
	}
	return nil
}
