package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

// database is what the subcommands need of a dialect.
type database = store.DB

// openDatabase opens the configured store. exclusive is for `run`: on SQLite
// it refuses a second relay on the same file.
func openDatabase(ctx context.Context, cfg Config, exclusive bool, log *slog.Logger) (database, error) {
	return openStore(ctx, cfg, exclusive, false, log)
}

// openStore is openDatabase; mustExist is store.Options.MustExist.
func openStore(ctx context.Context, cfg Config, exclusive, mustExist bool, log *slog.Logger) (database, error) {
	opts, err := cfg.storeOptions()
	if err != nil {
		return nil, err
	}
	opts.Logger, opts.MustExist = log, mustExist
	db, _, err := store.Open(ctx, cfg.Database.DSN, opts, exclusive)
	switch {
	case errors.Is(err, store.ErrNoDatabase):
		return nil, err // "no database at PATH" says it all
	case err != nil:
		return nil, fmt.Errorf("database.dsn: %w", err)
	}
	return db, nil
}

// soleRelay reports whether run, holding the database exclusively, is the
// only relay that can use it (SQLite): every other is dead.
func soleRelay(dsn string) bool {
	name, _, err := store.ParseDSN(dsn)
	if err != nil {
		return false
	}
	d, err := store.Lookup(name)
	return err == nil && d.SoleRelay
}

// columnWarnings reads the column types of the ERP's tables and says, naming
// table and column, what would make the database refuse a message the relay
// writes (relay.ColumnWarnings): `run` logs them at start, `status` prints them.
func columnWarnings(ctx context.Context, cfg Config, db database) ([]string, error) {
	cols, err := db.ERPColumns(ctx)
	if err != nil {
		return nil, err
	}
	maxFrame := cfg.Engine.MaxFrameBytes
	if maxFrame <= 0 {
		maxFrame = relay.DefaultMaxFrame
	}
	return relay.ColumnWarnings(cols, maxFrame,
		orDefault(cfg.Database.InboundTable, "T_TTI"), orDefault(cfg.Database.OutboundTable, "T_TTO")), nil
}

// openExisting opens a database the relay has already migrated, for the
// operator subcommands: they must not create an empty SQLite file where a
// path was mistyped, nor report "no such table" for a database that is not
// the relay's.
func openExisting(ctx context.Context, cfg Config, log *slog.Logger) (database, error) {
	notOurs := fmt.Errorf("%s is not a ctirelay database (run 'ctirelay migrate' to make it one)", store.Redact(cfg.Database.DSN))
	db, err := openStore(ctx, cfg, false, true, log)
	switch {
	case errors.Is(err, store.ErrNoDatabase):
		return nil, fmt.Errorf("%w (run 'ctirelay migrate' to create one)", err)
	case err != nil && isNotADatabase(err):
		return nil, notOurs
	case err != nil:
		return nil, err
	}
	// A database no migration of the relay's ever ran on (an empty file,
	// another application's database, the wrong PostgreSQL schema) has
	// the first one pending.
	pending, err := db.Pending(ctx)
	if err != nil {
		db.Close()
		if isNotADatabase(err) {
			return nil, notOurs
		}
		return nil, fmt.Errorf("read applied migrations: %w", err)
	}
	if len(pending) > 0 && pending[0].Version == 1 {
		db.Close()
		return nil, notOurs
	}
	return db, nil
}

// isNotADatabase reports SQLite's answer for a file that is not SQLite at all.
func isNotADatabase(err error) bool {
	return strings.Contains(err.Error(), "file is not a database")
}
