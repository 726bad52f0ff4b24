package schema

import (
	"fmt"
	"regexp"
	"strings"
)

// Tables name the tables of one installation: the ERP's two and the relay's
// own, which share a prefix. They are pasted into SQL, so every name is
// checked against a strict identifier pattern first (WithDefaults).
type Tables struct {
	Schema        string // PostgreSQL/SQL Server schema; "" = the default search path
	InboundTable  string // the ERP's inbound table, default T_TTI
	OutboundTable string // the ERP's outbound table, default T_TTO
	Prefix        string // prefix of the relay-owned tables, default relay_
	// ExplicitIDs says the ERP numbers its own T_TTI and T_TTO rows: a
	// dialect that creates those tables (when absent) gives IS_TTI and
	// IS_TTO no identity (SQL Server), so positional inserts with a number
	// work and inserts without one fail. {{erp_ids}} renders it.
	ExplicitIDs bool
}

// Defaults for Tables.
const (
	DefaultInbound  = "T_TTI"
	DefaultOutbound = "T_TTO"
	DefaultPrefix   = "relay_"
)

// identifier is deliberately strict: configured names are pasted into SQL.
var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// MaxPrefix is the longest prefix: with the longest name built from it
// (prefix + "schema_migrations"), still an identifier PostgreSQL keeps whole
// (63 bytes); longer, it cuts names, and two indexes could get the same one.
const MaxPrefix = 63 - len("schema_migrations")

// ValidIdentifier reports whether s may be used as a table, schema or prefix name.
func ValidIdentifier(s string) bool { return identifier.MatchString(s) }

// WithDefaults fills empty names and validates them all.
func (t Tables) WithDefaults() (Tables, error) {
	if t.InboundTable == "" {
		t.InboundTable = DefaultInbound
	}
	if t.OutboundTable == "" {
		t.OutboundTable = DefaultOutbound
	}
	if t.Prefix == "" {
		t.Prefix = DefaultPrefix
	}
	check := []struct{ key, val string }{
		{"inbound_table", t.InboundTable},
		{"outbound_table", t.OutboundTable},
		{"prefix", t.Prefix},
	}
	if t.Schema != "" {
		check = append(check, struct{ key, val string }{"schema", t.Schema})
	}
	for _, c := range check {
		if !ValidIdentifier(c.val) {
			return t, fmt.Errorf("invalid %s %q: use letters, digits and _ (start with a letter or _), at most 63", c.key, c.val)
		}
	}
	if len(t.Prefix) > MaxPrefix {
		return t, fmt.Errorf("invalid prefix %q: at most %d characters, so that every table and index named from it fits in 63", t.Prefix, MaxPrefix)
	}
	if strings.EqualFold(t.InboundTable, t.OutboundTable) {
		return t, fmt.Errorf("inbound_table and outbound_table are both %q", t.InboundTable)
	}
	return t, nil
}

// Names maps each {{placeholder}} used in dialect SQL and migrations to its
// qualified table name.
func (t Tables) Names() map[string]string {
	q := func(n string) string {
		if t.Schema == "" {
			return n
		}
		return t.Schema + "." + n
	}
	p := t.Prefix
	ids := "identity"
	if t.ExplicitIDs {
		ids = "explicit"
	}
	return map[string]string{
		"erp_ids":      ids,
		"schema":       t.Schema,
		"prefix":       p,
		"tti":          q(t.InboundTable),
		"tto":          q(t.OutboundTable),
		"tti_name":     t.InboundTable,
		"tto_name":     t.OutboundTable,
		"inbox":        q(p + "inbox"),
		"dead":         q(p + "dead"),
		"journal":      q(p + "journal"),
		"cursor":       q(p + "cursor"),
		"node":         q(p + "node"),
		"job_run":      q(p + "job_run"),
		"tto_mark":     q(p + "tto_mark"),
		"migrations":   q(p + "schema_migrations"),
		"queue_status": q(p + "queue_status"),
		"agent_status": q(p + "agent_status"),
		"throughput":   q(p + "throughput"),
	}
}

// Render replaces every {{name}} in sql with names[name]. An unknown
// placeholder is a programming error in the embedded SQL, so it panics.
func Render(sql string, names map[string]string) string {
	var b strings.Builder
	b.Grow(len(sql) + 64)
	for {
		i := strings.Index(sql, "{{")
		if i < 0 {
			b.WriteString(sql)
			return b.String()
		}
		j := strings.Index(sql[i:], "}}")
		if j < 0 {
			panic("schema: unclosed placeholder in SQL")
		}
		key := sql[i+2 : i+j]
		v, ok := names[key]
		if !ok {
			panic("schema: unknown placeholder {{" + key + "}}")
		}
		b.WriteString(sql[:i])
		b.WriteString(v)
		sql = sql[i+j+2:]
	}
}
