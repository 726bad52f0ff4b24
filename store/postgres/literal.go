package postgres

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/lib/pq"
)

// errNUL is returned for text PostgreSQL cannot hold: a NUL would also end
// the query string early.
var errNUL = errors.New("text holds a NUL byte")

// literals writes the arguments of an EXECUTE sent in the simple query
// protocol, where parameters travel inside the query text. Strings are quoted
// by pq.QuoteLiteral, the algorithm of libpq's PQescapeString (backslashes
// doubled under E” so the result holds whatever standard_conforming_strings
// says); numbers, booleans and times are written by the relay itself.
type literals struct {
	b   strings.Builder
	n   int
	err error
}

func (l *literals) next() {
	if l.n > 0 {
		l.b.WriteByte(',')
	}
	l.n++
}

func (l *literals) quote(s string) {
	if strings.IndexByte(s, 0) >= 0 {
		l.err = errNUL
		return
	}
	l.b.WriteString(pq.QuoteLiteral(s))
}

func (l *literals) text(s string) {
	l.next()
	l.quote(s)
	l.b.WriteString("::text")
}

func (l *literals) texts(v []string) {
	l.next()
	if len(v) == 0 {
		l.b.WriteString("'{}'::text[]")
		return
	}
	l.b.WriteString("ARRAY[")
	for i, s := range v {
		if i > 0 {
			l.b.WriteByte(',')
		}
		l.quote(s)
	}
	l.b.WriteString("]::text[]")
}

func (l *literals) int(n int64) {
	l.next()
	l.b.WriteString(strconv.FormatInt(n, 10))
}

func (l *literals) ints(v []int64) {
	l.next()
	l.b.WriteString("'{")
	for i, n := range v {
		if i > 0 {
			l.b.WriteByte(',')
		}
		l.b.WriteString(strconv.FormatInt(n, 10))
	}
	l.b.WriteString("}'::int[]")
}

func (l *literals) bool(v bool) {
	l.next()
	l.b.WriteString(strconv.FormatBool(v))
}

func (l *literals) bools(v []bool) {
	l.next()
	l.b.WriteString("'{")
	for i, t := range v {
		if i > 0 {
			l.b.WriteByte(',')
		}
		if t {
			l.b.WriteByte('t')
		} else {
			l.b.WriteByte('f')
		}
	}
	l.b.WriteString("}'::bool[]")
}

// time writes t to the microsecond, in UTC, as PostgreSQL stores it.
func (l *literals) time(t time.Time) {
	l.next()
	l.b.WriteByte('\'')
	l.b.WriteString(micro(t).Format("2006-01-02T15:04:05.000000Z"))
	l.b.WriteString("'::timestamptz")
}

// String is the argument list, or the first error.
func (l *literals) String() (string, error) {
	return l.b.String(), l.err
}
