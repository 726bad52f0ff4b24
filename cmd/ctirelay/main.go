// Command ctirelay lets legacy ERPs drive contact-centre telephony through SQL
// rows. See README.md; each subcommand lives in its own file.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *cli, args []string) error
}

func commands() []command {
	return []command{
		{"run", "run the relay (embedded default: SQLite + simulated switch)", runCmd},
		{"migrate", "apply database migrations (--print shows the SQL)", migrateCmd},
		{"send", "enqueue a command frame, e.g. ctirelay send '<jose><S>$'", sendCmd},
		{"tail", "follow the journal: every message in and out", tailCmd},
		{"status", "queue depth, oldest age, in flight, retrying, dead", statusCmd},
		{"dead", "list, retry or drop dead letters", deadCmd},
		{"bench", "measure the relay end to end against the database's own floor", benchCmd},
		{"sim", "serve the simulated switch as a Tactium IP socket (--listen 127.0.0.1:34025)", simCmd},
		{"version", "print the version", versionCmd},
	}
}

// cli carries what every subcommand gets: streams and the environment.
type cli struct {
	stdout, stderr io.Writer
	getenv         func(string) string
}

// errUsage means the message was already printed with the usage.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := &cli{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	os.Exit(mainCode(ctx, env, os.Args[1:]))
}

func mainCode(ctx context.Context, env *cli, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(env.stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(ctx, env, args[1:])
			switch {
			case err == nil:
				return 0
			case errors.Is(err, errUsage), errors.Is(err, flag.ErrHelp):
				return 2
			default:
				fmt.Fprintf(env.stderr, "ctirelay %s: %v\n", c.name, err)
				return 1
			}
		}
	}
	fmt.Fprintf(env.stderr, "ctirelay: unknown command %q\n\n", args[0])
	usage(env.stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: ctirelay <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'ctirelay <command> -h' for the flags of a command.")
}

// newFlags builds a flag set whose errors and help go to stderr.
func newFlags(env *cli, name, args string) *flag.FlagSet {
	fs := flag.NewFlagSet("ctirelay "+name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.stderr, "usage: ctirelay %s [flags] %s\n", name, args)
		fs.PrintDefaults()
	}
	return fs
}

// commonFlags are the flags every database subcommand takes.
type commonFlags struct {
	config string
	db     string
}

func (c *commonFlags) register(fs *flag.FlagSet) {
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

// open loads the configuration and opens the database for the operator
// subcommands (never exclusively: they work beside a running relay).
func (c *commonFlags) open(ctx context.Context, env *cli) (Config, database, error) {
	cfg, err := c.load(env)
	if err != nil {
		return cfg, nil, err
	}
	db, err := openDatabase(ctx, cfg, false, newLogger(cfg.Log, env.stderr))
	return cfg, db, err
}
