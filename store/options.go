// Package store holds what every SQL dialect shares: options, identifier
// validation and the rendering of configured table names into SQL text. The
// dialects live in subpackages and all pass store/storetest.
package store

import (
	"database/sql/driver"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
)

// Options name the tables a store works on.
type Options struct {
	Schema        string // PostgreSQL/SQL Server schema; "" = the default search path
	InboundTable  string // the ERP's inbound table, default T_TTI
	OutboundTable string // the ERP's outbound table, default T_TTO
	Prefix        string // prefix of the relay-owned tables, default relay_
	Logger        *slog.Logger
	// WrapConnector, when set, interposes on the connections the store's
	// pool opens (ctirelay bench counts statements with it).
	WrapConnector func(driver.Connector) driver.Connector
}

// Defaults for Options.
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
func (o Options) WithDefaults() (Options, error) {
	if o.InboundTable == "" {
		o.InboundTable = DefaultInbound
	}
	if o.OutboundTable == "" {
		o.OutboundTable = DefaultOutbound
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	check := []struct{ key, val string }{
		{"inbound_table", o.InboundTable},
		{"outbound_table", o.OutboundTable},
		{"prefix", o.Prefix},
	}
	if o.Schema != "" {
		check = append(check, struct{ key, val string }{"schema", o.Schema})
	}
	for _, c := range check {
		if !ValidIdentifier(c.val) {
			return o, fmt.Errorf("invalid %s %q: use letters, digits and _ (start with a letter or _), at most 63", c.key, c.val)
		}
	}
	if len(o.Prefix) > MaxPrefix {
		return o, fmt.Errorf("invalid prefix %q: at most %d characters, so that every table and index named from it fits in 63", o.Prefix, MaxPrefix)
	}
	if strings.EqualFold(o.InboundTable, o.OutboundTable) {
		return o, fmt.Errorf("inbound_table and outbound_table are both %q", o.InboundTable)
	}
	return o, nil
}

// Names maps each {{placeholder}} used in dialect SQL and migrations to its
// qualified table name.
func (o Options) Names() map[string]string {
	q := func(n string) string {
		if o.Schema == "" {
			return n
		}
		return o.Schema + "." + n
	}
	p := o.Prefix
	return map[string]string{
		"schema":       o.Schema,
		"prefix":       p,
		"tti":          q(o.InboundTable),
		"tto":          q(o.OutboundTable),
		"tti_name":     o.InboundTable,
		"tto_name":     o.OutboundTable,
		"inbox":        q(p + "inbox"),
		"dead":         q(p + "dead"),
		"journal":      q(p + "journal"),
		"cursor":       q(p + "cursor"),
		"node":         q(p + "node"),
		"job_run":      q(p + "job_run"),
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
			panic("store: unclosed placeholder in SQL")
		}
		key := sql[i+2 : i+j]
		v, ok := names[key]
		if !ok {
			panic("store: unknown placeholder {{" + key + "}}")
		}
		b.WriteString(sql[:i])
		b.WriteString(v)
		sql = sql[i+j+2:]
	}
}
