package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/ctirelay/ctirelay/store"
)

// migrateCmd applies pending migrations, or prints them for a DBA to review.
func migrateCmd(ctx context.Context, env *cli, args []string) error {
	fs := newFlags(env, "migrate", "")
	var common commonFlags
	common.register(fs)
	printOnly := fs.Bool("print", false, "print the SQL of the pending migrations instead of running it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, db, err := common.open(ctx, env)
	if err != nil {
		return err
	}
	defer db.Close()
	if *printOnly {
		return printMigrations(ctx, env, cfg, db)
	}
	applied, err := db.Migrate(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if len(applied) == 0 {
		fmt.Fprintln(env.stdout, "schema is up to date")
	}
	for _, m := range applied {
		fmt.Fprintf(env.stdout, "applied %04d %s\n", m.Version, m.Name)
	}
	return configureDatabase(ctx, cfg, db)
}

func printMigrations(ctx context.Context, env *cli, cfg Config, db database) error {
	pending, err := db.Pending(ctx)
	if err != nil {
		return fmt.Errorf("read applied migrations: %w", err)
	}
	if len(pending) == 0 {
		fmt.Fprintln(env.stdout, "-- schema is up to date: nothing to run")
		return nil
	}
	name, _, _ := store.ParseDSN(cfg.Database.DSN)
	d, err := store.Lookup(name)
	if err != nil {
		return err
	}
	opts, _ := cfg.storeOptions()
	names := opts.Names()
	boot := d.Migrations.BootstrapSQL(names)
	fmt.Fprintf(env.stdout, "-- ctirelay migrations for %s (%d pending)\n-- version table\n%s\n", d.Name, len(pending), strings.TrimSpace(boot))
	for _, m := range pending {
		fmt.Fprintf(env.stdout, "\n-- %04d %s\n%s\n", m.Version, m.Name, strings.TrimSpace(m.Rendered(names)))
	}
	return nil
}
