package postgres

import (
	"slices"
	"strconv"
	"time"
)

// micro rounds a time down to PostgreSQL's precision, in UTC, so a value
// written and read back compares equal (the server would round to nearest).
func micro(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// tsText renders an optional time for a text[] parameter; zero is "".
func tsText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return micro(t).Format("2006-01-02T15:04:05.999999Z07:00")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func sortBy[T any](s []T, key func(T) int64) {
	slices.SortFunc(s, func(a, b T) int {
		ka, kb := key(a), key(b)
		switch {
		case ka < kb:
			return -1
		case ka > kb:
			return 1
		}
		return 0
	})
}
