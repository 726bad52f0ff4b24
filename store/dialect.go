package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/schema"
)

// DB is a dialect's store as the commands use it: the relay's contract plus
// its own migrations and settings.
type DB interface {
	relay.Store
	Migrate(ctx context.Context) ([]schema.Migration, error)
	Pending(ctx context.Context) ([]schema.Migration, error)
	// SetNotifyTrigger installs (on) or removes (off) a trigger on T_TTI
	// that wakes relays when the ERP inserts; ErrNoNotifyTrigger (on) where
	// the dialect has none, nil (off).
	SetNotifyTrigger(ctx context.Context, on bool) error
	// ReleaseMemory hands back what a load spike left in the store's own
	// memory (SQLite: its connection's caches, in the process); `run` calls
	// it when quiet after a spike. A no-op where the server holds it.
	ReleaseMemory()
}

// ErrNoNotifyTrigger: the dialect has no T_TTI notify trigger (only
// PostgreSQL has one).
var ErrNoNotifyTrigger = errors.New("only PostgreSQL has a notify trigger")

// NoNotifyTrigger is SetNotifyTrigger for a dialect without one.
func NoNotifyTrigger(on bool) error {
	if on {
		return ErrNoNotifyTrigger
	}
	return nil
}

// Dialect is everything ctirelay knows of one SQL dialect. Each dialect's
// package registers its own in an init function (Register); a binary has
// the dialects whose packages it imports (cmd/ctirelay/dialects.go).
type Dialect struct {
	Name    string   // "sqlite": what reports and errors call it
	Schemes []string // the DSN prefixes it takes: "sqlite:", "postgres://"
	Usage   string   // how a DSN looks, for messages: "sqlite:PATH"
	// Target turns a DSN into what Open takes, reporting one that names
	// nothing; nil passes the DSN as it is.
	Target func(dsn string) (string, error)
	// Open opens the store without migrating it. exclusive is for `run`:
	// a dialect that allows one relay per database refuses a second one.
	Open func(ctx context.Context, target string, opts Options, exclusive bool) (DB, error)
	// SoleRelay says an exclusive Open admits one relay per database (SQLite's
	// file lock): the relay that has it knows every relay before it is dead
	// (relay.EngineConfig.SoleRelay).
	SoleRelay bool
	// Migrations are the dialect's schema steps and version table.
	Migrations schema.Dialect
	// Bench is what ctirelay bench needs of the dialect.
	Bench Bench
}

// Bench is a dialect's part of ctirelay bench (internal/bench).
type Bench struct {
	// Open creates tables of the bench's own (never the configured ones:
	// a throwaway file, a throwaway schema) and opens the relay's store on
	// them, migrated, with spec.Options.
	Open func(ctx context.Context, target string, spec BenchSpec) (*BenchTarget, error)
	// Floor is the database's cheapest move of up to one batch of rows from
	// T_TTI to T_TTO, oldest first: each statement takes the batch size as
	// its only parameter; several run in one transaction.
	Floor func(names map[string]string) []string
}

// BenchSpec is what the bench asks of a target.
type BenchSpec struct {
	Options     Options // the relay's store: logger, statement counter (WrapConnector)
	Synchronous string  // PRAGMA synchronous, where the dialect has it (SQLite)
	Notify      bool    // install the T_TTI notify trigger, where the dialect has one (PostgreSQL)
	Keep        bool    // leave the tables for inspection
}

// BenchTarget is one run's tables.
type BenchTarget struct {
	Store DB                // the relay's store, opened with BenchSpec.Options
	ERP   *sql.DB           // the ERP's own connection to the same tables, not counted
	Names map[string]string // the tables' names (Options.Names)
	Where string            // what the report names: the file or the schema
	Drop  func() error      // closes both and removes what the run created
}

var (
	regMu    sync.RWMutex
	dialects = map[string]Dialect{}
)

// planned are dialects ctirelay will have, by DSN prefix ("scheme://":
// "name"): a DSN naming one is valid configuration, and opening it says this
// build lacks it. None is planned now that SQL Server is built in.
var planned = map[string]string{}

// Register adds a dialect; it panics on a name or scheme already taken, a
// programming error found at start-up.
func Register(d Dialect) {
	regMu.Lock()
	defer regMu.Unlock()
	if d.Name == "" || len(d.Schemes) == 0 || d.Open == nil {
		panic("store: Register needs a name, a scheme and Open")
	}
	if _, dup := dialects[d.Name]; dup {
		panic("store: dialect " + d.Name + " registered twice")
	}
	for _, o := range dialects {
		for _, s := range d.Schemes {
			if slices.Contains(o.Schemes, s) {
				panic("store: scheme " + s + " of " + d.Name + " is " + o.Name + "'s")
			}
		}
	}
	dialects[d.Name] = d
}

// Dialects returns the registered dialects by name.
func Dialects() []Dialect {
	regMu.RLock()
	defer regMu.RUnlock()
	out := make([]Dialect, 0, len(dialects))
	for _, d := range dialects {
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b Dialect) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// ParseDSN splits a DSN into its dialect's name and what the dialect's Open
// takes. The DSN of a planned dialect parses too; Lookup reports it.
func ParseDSN(dsn string) (name, target string, err error) {
	if dsn == "" {
		return "", "", fmt.Errorf("empty (use %s)", usage(true))
	}
	for _, d := range Dialects() {
		for _, s := range d.Schemes {
			if !strings.HasPrefix(dsn, s) {
				continue
			}
			if d.Target == nil {
				return d.Name, dsn, nil
			}
			t, err := d.Target(dsn)
			if err != nil {
				return "", "", err
			}
			return d.Name, t, nil
		}
	}
	for s, name := range planned {
		if strings.HasPrefix(dsn, s) {
			return name, dsn, nil
		}
	}
	return "", "", fmt.Errorf("%q: unknown kind of database (use %s)", Redact(dsn), usage(true))
}

// Lookup returns the registered dialect called name.
func Lookup(name string) (Dialect, error) {
	regMu.RLock()
	d, ok := dialects[name]
	regMu.RUnlock()
	if !ok {
		return Dialect{}, fmt.Errorf("%s is not supported by this build (use %s)", name, usage(false))
	}
	return d, nil
}

// Open opens the store a DSN names, without migrating it.
func Open(ctx context.Context, dsn string, opts Options, exclusive bool) (DB, Dialect, error) {
	name, target, err := ParseDSN(dsn)
	if err != nil {
		return nil, Dialect{}, err
	}
	d, err := Lookup(name)
	if err != nil {
		return nil, Dialect{}, err
	}
	db, err := d.Open(ctx, target, opts, exclusive)
	if err != nil {
		return nil, d, err
	}
	return db, d, nil
}

// usage lists the DSN forms of the registered dialects, then with planned
// the planned ones: "postgres://…, sqlite:PATH or sqlserver://…".
func usage(withPlanned bool) string {
	var forms []string
	for _, d := range Dialects() {
		u := d.Usage
		if u == "" {
			u = d.Schemes[0] + "…"
		}
		forms = append(forms, u)
	}
	var later []string
	for s := range planned {
		if withPlanned {
			later = append(later, s+"…")
		}
	}
	slices.Sort(later)
	forms = append(forms, later...)
	switch len(forms) {
	case 0:
		return "no dialect is built in"
	case 1:
		return forms[0]
	}
	return strings.Join(forms[:len(forms)-1], ", ") + " or " + forms[len(forms)-1]
}

// Redact hides a password in a DSN before it reaches a log or an error.
func Redact(dsn string) string {
	at := strings.LastIndexByte(dsn, '@')
	scheme := strings.Index(dsn, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return dsn
	}
	userinfo := dsn[scheme+3 : at]
	if i := strings.IndexByte(userinfo, ':'); i >= 0 {
		return dsn[:scheme+3] + userinfo[:i] + ":***" + dsn[at:]
	}
	return dsn
}
