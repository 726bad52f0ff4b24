package store

import (
	"strings"

	"github.com/ctirelay/ctirelay/schema"
)

// Batch is a statement over many rows, for dialects that write a batch as
// one multi-row statement with a bound on its parameters (SQLite; SQL
// Server allows 2100): Head, n row tuples joined by Sep (", " when empty),
// Tail. Fixed parameters come before the tuples' ones.
type Batch struct {
	Head, Tuple, Sep, Tail string
	Params                 int // per tuple
	Fixed                  int
}

// Rendered returns b with the table names of Head and Tail rendered.
func (b Batch) Rendered(names map[string]string) *Batch {
	b.Head = schema.Render(b.Head, names)
	b.Tail = schema.Render(b.Tail, names)
	if b.Sep == "" {
		b.Sep = ", "
	}
	return &b
}

// SQL is the statement for n rows.
func (b *Batch) SQL(n int) string {
	var s strings.Builder
	s.Grow(len(b.Head) + n*(len(b.Tuple)+len(b.Sep)) + len(b.Tail))
	s.WriteString(b.Head)
	for i := 0; i < n; i++ {
		if i > 0 {
			s.WriteString(b.Sep)
		}
		s.WriteString(b.Tuple)
	}
	s.WriteString(b.Tail)
	return s.String()
}

// Each calls fn for consecutive runs [lo, hi) of n rows, each run a power
// of two of at most maxRows rows (largest first; maxRows a power of two
// chosen so that the widest Batch stays within the dialect's parameter
// bound): with 512, a statement for 1000 rows is one of 512, 256, 128, 64,
// 32 and 8, so a handful of statement texts cover every batch and stay
// prepared.
func Each(n, maxRows int, fn func(lo, hi int) error) error {
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
