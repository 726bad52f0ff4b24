package main

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// cell makes a value from the database safe to print as one cell of a text
// table or one field of a line: a newline, tab or terminal escape in a frame
// or a reason must not break the layout nor reach the terminal. Control and
// other non-printing characters are written as Go escapes (\n, \t, \x1b,
// \u2028) and bytes that are not UTF-8 as \xNN. Printable text, spaces
// included, is left as it is; so is a backslash, which recording paths
// (c:\records\…) are full of: a literal "\n" in a frame reads like an escaped
// newline, the price of keeping paths readable (--json is exact).
func cell(s string) string {
	i := strings.IndexFunc(s, needsEscape)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		r, w := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && w == 1:
			b.WriteString(`\x`)
			b.WriteString(strconv.FormatUint(uint64(s[i])>>4, 16))
			b.WriteString(strconv.FormatUint(uint64(s[i])&0xf, 16))
		case needsEscape(r):
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+w])
		}
		i += w
	}
	return b.String()
}

func needsEscape(r rune) bool {
	return r == utf8.RuneError || (r != ' ' && !strconv.IsPrint(r))
}

// clip shortens s to at most n bytes, on a character boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
