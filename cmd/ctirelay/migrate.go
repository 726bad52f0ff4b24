package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ctirelay/ctirelay/store"
)

func newMigrateCmd(env *cli) *cobra.Command {
	var common commonFlags
	var printOnly bool
	c := &cobra.Command{
		Use:   "migrate",
		Short: "apply database migrations (--print shows the SQL)",
		Long: `Apply the pending schema migrations, creating the database (SQLite) and the
relay's tables when absent. With --print, show their SQL for a DBA to review
instead of running it.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return migrateCmd(cmd.Context(), env, &common, printOnly) },
	}
	common.register(c.Flags())
	c.Flags().BoolVar(&printOnly, "print", false, "print the SQL of the pending migrations instead of running it")
	return c
}

// migrateCmd applies pending migrations, or prints them for a DBA to review.
// It is the one operator command that creates a database.
func migrateCmd(ctx context.Context, env *cli, common *commonFlags, printOnly bool) error {
	cfg, err := common.load(env)
	if err != nil {
		return err
	}
	db, err := openDatabase(ctx, cfg, false, newLogger(cfg.Log, env.stderr))
	if err != nil {
		return err
	}
	defer db.Close()
	if printOnly {
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
