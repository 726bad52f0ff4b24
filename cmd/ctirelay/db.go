package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/schema"
	"github.com/ctirelay/ctirelay/store/postgres"
	"github.com/ctirelay/ctirelay/store/sqlite"
)

// database is what the subcommands need of a dialect.
type database interface {
	relay.Store
	relay.Admin
	relay.NodeRegistry
	Migrate(ctx context.Context) ([]schema.Migration, error)
	Pending(ctx context.Context) ([]schema.Migration, error)
}

// parseDSN splits sqlite:PATH, postgres://… and sqlserver://… into the
// dialect and what its driver takes.
func parseDSN(dsn string) (dialect, target string, err error) {
	switch {
	case dsn == "":
		return "", "", fmt.Errorf("empty (use sqlite:PATH, postgres://… or sqlserver://…)")
	case strings.HasPrefix(dsn, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "//")
		if path == "" {
			return "", "", fmt.Errorf("%q names no file (use sqlite:ctirelay.db)", dsn)
		}
		return schema.SQLite, path, nil
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return schema.Postgres, dsn, nil
	case strings.HasPrefix(dsn, "sqlserver://"):
		return "sqlserver", dsn, nil
	}
	return "", "", fmt.Errorf("%q: unknown kind of database (use sqlite:PATH, postgres://… or sqlserver://…)", redact(dsn))
}

// redact hides a password in a DSN before it reaches a log or an error.
func redact(dsn string) string {
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

// openDatabase opens the configured store. exclusive is for `run`: on SQLite
// it refuses a second relay on the same file.
func openDatabase(ctx context.Context, cfg Config, exclusive bool, log *slog.Logger) (database, error) {
	dialect, target, err := parseDSN(cfg.Database.DSN)
	if err != nil {
		return nil, fmt.Errorf("database.dsn: %w", err)
	}
	opts, err := cfg.storeOptions()
	if err != nil {
		return nil, err
	}
	opts.Logger = log
	switch dialect {
	case schema.SQLite:
		return sqlite.Open(ctx, target, opts, exclusive)
	case schema.Postgres:
		return postgres.Open(ctx, target, opts)
	}
	return nil, fmt.Errorf("database.dsn: %s is not supported by this build yet (use sqlite: or postgres://)", dialect)
}
