package relay

import (
	"fmt"
	"strings"
)

// Column is what the database says of a text column of the ERP's tables
// (T_TTI, T_TTO): the relay never alters them, so an ERP that created them
// itself may have made them narrower than the frames the relay writes.
type Column struct {
	Table string // the table as configured, e.g. T_TTO
	Name  string // e.g. DS_TTO
	Type  string // as the database declares it, e.g. character varying(60)
	// MaxChars is the most characters the database lets the column hold,
	// 0 when it sets no bound (SQLite does not enforce varchar lengths).
	MaxChars int
	// Encoding is how the database stores the column's text, e.g. UTF8,
	// LATIN1, SQL_ASCII, UTF-8.
	Encoding string
}

// ColumnWarnings says, naming the table and the column, which text columns
// of the ERP's tables cannot hold every frame of up to maxFrame bytes, or
// every character a frame may carry: the database would refuse such a
// message, and the relay would dead-letter it (a reply or an event) instead
// of writing it. tables are the configured names, checked to be there.
func ColumnWarnings(cols []Column, maxFrame int, tables ...string) []string {
	var out []string
	seen := map[string]bool{}
	for _, c := range cols {
		seen[strings.ToLower(c.Table)] = true
		if c.MaxChars > 0 && c.MaxChars < maxFrame {
			out = append(out, fmt.Sprintf("%s.%s is %s: frames up to max_frame_bytes (%d) do not fit, and the database refuses those over %d characters",
				c.Table, c.Name, c.Type, maxFrame, c.MaxChars))
		}
		if c.Encoding != "" && !unicodeEncoding(c.Encoding) {
			out = append(out, fmt.Sprintf("%s.%s is stored as %s, which cannot hold every character a frame may carry (UTF-8 can)",
				c.Table, c.Name, c.Encoding))
		}
	}
	for _, t := range tables {
		if !seen[strings.ToLower(t)] {
			out = append(out, fmt.Sprintf("%s has no text column the relay can read or write", t))
		}
	}
	return out
}

// unicodeEncoding reports an encoding that holds every character: UTF8,
// UTF-8, UTF-16le ... SQL_ASCII is none: PostgreSQL stores its bytes
// unchecked, so what the ERP reads back depends on who reads.
func unicodeEncoding(enc string) bool {
	e := strings.ToUpper(strings.ReplaceAll(enc, "-", ""))
	return strings.HasPrefix(e, "UTF")
}
