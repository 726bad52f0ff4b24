// Command ctirelay lets legacy ERPs drive contact-centre telephony through SQL
// rows. See README.md; each subcommand lives in its own file.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// cli carries what every subcommand gets: streams and the environment.
type cli struct {
	stdout, stderr io.Writer
	getenv         func(string) string
}

// usageError is a mistake in the command line (an unknown flag or command,
// a missing or extra argument, a bad flag value): exit status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := &cli{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	// Started by the Windows service manager: a service stop ends ctx.
	if code, ok := underServiceManager(env, func(svcCtx context.Context) int { return mainCode(svcCtx, env, os.Args[1:]) }); ok {
		os.Exit(code)
	}
	os.Exit(mainCode(ctx, env, os.Args[1:]))
}

// mainCode runs the command line and returns the exit status: 0 success,
// 1 failure, 2 usage error. Errors are one line on stderr, help is on stdout.
func mainCode(ctx context.Context, env *cli, args []string) int {
	root := newRootCmd(env)
	root.SetArgs(longFlags(root, args))
	// Cobra parses flags and checks arguments before the persistent pre-run;
	// an error before it is the command line's.
	started := false
	root.PersistentPreRun = func(*cobra.Command, []string) { started = true }
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	var usage usageError
	if !started || errors.As(err, &usage) {
		fmt.Fprintf(env.stderr, "%s: %v (see '%s --help')\n", cmd.CommandPath(), err, cmd.CommandPath())
		return 2
	}
	fmt.Fprintf(env.stderr, "%s: %v\n", cmd.CommandPath(), err)
	return 1
}

// newRootCmd builds the command tree, one subcommand per file.
func newRootCmd(env *cli) *cobra.Command {
	root := &cobra.Command{
		Use:   "ctirelay",
		Short: "relay contact-centre telephony commands between ERP SQL tables and a switch",
		Long: `ctirelay lets legacy ERPs drive contact-centre telephony through SQL rows: it
takes command frames from T_TTI, runs them at the switch and writes the replies
and the switch's events to T_TTO.

Exit status: 0 success, 1 failure, 2 usage error.`,
		SilenceErrors:     true,
		SilenceUsage:      true,
		DisableAutoGenTag: true,
	}
	root.SetOut(env.stdout)
	root.SetErr(env.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newRunCmd(env), newMigrateCmd(env), newSendCmd(env), newTailCmd(env), newStatusCmd(env),
		newDeadCmd(env), newWebhooksCmd(env), newJobsCmd(env), newBenchCmd(env), newSimCmd(env), newVersionCmd(env), newManCmd(env), newServiceCmd(env))
	root.InitDefaultCompletionCmd()
	root.InitDefaultHelpCmd()
	for _, c := range root.Commands() {
		if c.Name() == "help" {
			strictHelp(c)
		}
	}
	requireSubcommand(root)
	// A command that only groups others is runnable to refuse a wrong
	// subcommand: its usage shows only "ctirelay dead [command]".
	root.SetUsageTemplate(strings.Replace(root.UsageTemplate(),
		"Usage:{{if .Runnable}}", "Usage:{{if and .Runnable (not .HasAvailableSubCommands)}}", 1))
	return root
}

// strictHelp makes `ctirelay help TOPIC` a usage error for an unknown topic,
// where cobra prints the usage and succeeds.
func strictHelp(help *cobra.Command) {
	help.Run = nil
	help.RunE = func(c *cobra.Command, args []string) error {
		cmd, rest, err := c.Root().Find(args)
		if err != nil || len(rest) > 0 {
			return usagef("unknown help topic %q", strings.Join(args, " "))
		}
		cmd.InitDefaultHelpFlag()
		return cmd.Help()
	}
}

// requireSubcommand makes each command that only groups others (ctirelay,
// dead, completion) refuse a missing or unknown subcommand as a usage error,
// where cobra would print the help and succeed.
func requireSubcommand(c *cobra.Command) {
	for _, sub := range c.Commands() {
		requireSubcommand(sub)
	}
	if !c.HasSubCommands() || c.Runnable() {
		return
	}
	var names []string
	for _, sub := range c.Commands() {
		if sub.IsAvailableCommand() {
			names = append(names, sub.Name())
		}
	}
	c.Args = cobra.ArbitraryArgs
	c.RunE = func(_ *cobra.Command, args []string) error {
		if len(args) == 0 {
			return usagef("name a command: %s", strings.Join(names, ", "))
		}
		return usagef("unknown command %q (use %s)", args[0], strings.Join(names, ", "))
	}
}

// noArgs refuses arguments to a command that takes only flags (`run extra`
// must not start a relay).
func noArgs(_ *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q", args[0])
	}
	return nil
}

// longFlags rewrites single-dash long flags (`-db x`, the Go flag package's
// form that scripts written for earlier versions use) as `--db x`, for the
// flags of the command args name. Single letters stay shorthands (`-f=false`,
// `-h`) unless the command has no such shorthand but a flag of that name
// (`bench -n 40`). Nothing after `--` and no flag's value is touched.
func longFlags(root *cobra.Command, args []string) []string {
	cmd, _, err := root.Find(args)
	if err != nil || cmd == nil {
		return args
	}
	cmd.InitDefaultHelpFlag()
	lookup := func(name string) *pflag.Flag {
		if f := cmd.Flags().Lookup(name); f != nil {
			return f
		}
		return cmd.InheritedFlags().Lookup(name)
	}
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		out = append(out, a)
		if a == "--" {
			return append(out, args[i+1:]...)
		}
		if len(a) < 2 || a[0] != '-' {
			continue
		}
		name, _, hasValue := cutFlag(a)
		var f *pflag.Flag
		switch {
		case a[1] == '-':
			f = lookup(name)
		case len(name) == 1 && cmd.Flags().ShorthandLookup(name) != nil:
			f = cmd.Flags().ShorthandLookup(name)
		default:
			if f = lookup(name); f != nil {
				out[len(out)-1] = "-" + a
			}
		}
		// A flag that takes a value given as a separate argument: that
		// argument is the value, whatever it looks like.
		if f != nil && !hasValue && f.NoOptDefVal == "" && i+1 < len(args) {
			i++
			out = append(out, args[i])
		}
	}
	return out
}

// cutFlag splits -name=value or --name=value.
func cutFlag(a string) (name, value string, hasValue bool) {
	a = a[1:]
	if a != "" && a[0] == '-' {
		a = a[1:]
	}
	for i := 0; i < len(a); i++ {
		if a[i] == '=' {
			return a[:i], a[i+1:], true
		}
	}
	return a, "", false
}

// commonFlags are the flags every database subcommand takes.
type commonFlags struct {
	config string
	db     string
}

func (c *commonFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&c.config, "config", "", "YAML configuration file")
	fs.StringVar(&c.db, "db", "", "database: sqlite:PATH, postgres://… or sqlserver://… (env CTIRELAY_DB)")
}

// load reads the configuration; --db beats CTIRELAY_DB beats the file.
func (c *commonFlags) load(env *cli) (Config, error) {
	cfg, err := LoadConfig(c.config)
	if err != nil {
		return cfg, err
	}
	switch {
	case c.db != "":
		cfg.Database.DSN = c.db
	case env.getenv("CTIRELAY_DB") != "":
		cfg.Database.DSN = env.getenv("CTIRELAY_DB")
	}
	return cfg, cfg.Validate()
}

// open loads the configuration and opens an existing relay database for the
// operator subcommands (never exclusively: they work beside a running
// relay). It creates nothing: a missing file or a database the relay never
// migrated is an error.
func (c *commonFlags) open(ctx context.Context, env *cli) (Config, database, error) {
	cfg, err := c.load(env)
	if err != nil {
		return cfg, nil, err
	}
	db, err := openExisting(ctx, cfg, newLogger(cfg.Log, env.stderr))
	return cfg, db, err
}
