// Package store holds what every SQL dialect shares: options, the registry
// of dialects (Register, Lookup), and helpers each dialect would otherwise
// write again (transactions, multi-row statements within a parameter bound,
// scanning jobs and journal rows). The dialects live in subpackages, each
// registering itself, and all pass store/storetest. Table names and their
// rendering into SQL are schema facts: see package schema.
package store

import (
	"database/sql/driver"
	"errors"
	"log/slog"

	"github.com/ctirelay/ctirelay/schema"
)

// Options configure a store: the tables it works on (see schema.Tables) and
// how it logs and connects.
type Options struct {
	Schema        string // PostgreSQL/SQL Server schema; "" = the default search path
	InboundTable  string // the ERP's inbound table, default T_TTI
	OutboundTable string // the ERP's outbound table, default T_TTO
	Prefix        string // prefix of the relay-owned tables, default relay_
	// ExplicitIDs: the ERP supplies IS_TTI and IS_TTO itself, so T_TTI and
	// T_TTO, when a dialect creates them, have no identity (SQL Server);
	// see schema.Tables.ExplicitIDs.
	ExplicitIDs bool
	Logger      *slog.Logger
	// WrapConnector, when set, interposes on every connection of the
	// store's pool (not on a dialect's separate wake-up listener): each
	// dialect passes its driver.Connector through it before opening the
	// pool. ctirelay bench counts statements and transactions with it
	// (internal/bench); a tracer or a fault injector fits the same way.
	WrapConnector func(driver.Connector) driver.Connector
	// MustExist opens an existing database only, creating nothing (the
	// operator tools: a mistyped path must not become an empty database). A
	// dialect whose database is a file refuses a missing one with
	// ErrNoDatabase; a server's database exists or the connection fails.
	MustExist bool
}

// ErrNoDatabase is the error of an Options.MustExist open of a database that
// does not exist.
var ErrNoDatabase = errors.New("no database")

// Tables are the configured table names.
func (o Options) Tables() schema.Tables {
	return schema.Tables{Schema: o.Schema, InboundTable: o.InboundTable, OutboundTable: o.OutboundTable, Prefix: o.Prefix,
		ExplicitIDs: o.ExplicitIDs}
}

// WithDefaults fills empty names and the logger, and validates the names
// (schema.Tables.WithDefaults).
func (o Options) WithDefaults() (Options, error) {
	t, err := o.Tables().WithDefaults()
	if err != nil {
		return o, err
	}
	o.Schema, o.InboundTable, o.OutboundTable, o.Prefix = t.Schema, t.InboundTable, t.OutboundTable, t.Prefix
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

// Names maps each {{placeholder}} used in dialect SQL and migrations to its
// qualified table name (schema.Tables.Names).
func (o Options) Names() map[string]string { return o.Tables().Names() }
