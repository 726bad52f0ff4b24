package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

// database is what the subcommands need of a dialect.
type database = store.DB

// openDatabase opens the configured store. exclusive is for `run`: on SQLite
// it refuses a second relay on the same file.
func openDatabase(ctx context.Context, cfg Config, exclusive bool, log *slog.Logger) (database, error) {
	opts, err := cfg.storeOptions()
	if err != nil {
		return nil, err
	}
	opts.Logger = log
	db, _, err := store.Open(ctx, cfg.Database.DSN, opts, exclusive)
	if err != nil {
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
