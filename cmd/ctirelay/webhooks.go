package main

import (
	"context"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	httpbridge "github.com/ctirelay/ctirelay/bridges/http"
)

// webhooksOptions are the flags of the webhooks subcommands.
type webhooksOptions struct {
	common commonFlags
	asJSON bool
	from   int64
}

// newWebhooksCmd shows and changes the webhooks' durable state in
// relay_cursor; a running relay takes a change within seconds.
func newWebhooksCmd(env *cli) *cobra.Command {
	c := &cobra.Command{
		Use:   "webhooks",
		Short: "list webhooks, enable one, or replay one from a journal id",
		Long: `Webhooks (bridges.http.webhooks) deliver the journal to HTTP endpoints, each
from a durable position in relay_cursor. List their state, enable one that was
disabled (a 410, or failing for its failure_window) or deliver again from a
journal id. These act on the database, so they work whether or not the relay
runs; a running relay takes the change within 5 seconds.`,
	}
	list := &cobra.Command{Use: "list", Short: "each webhook's state, position and lag", Args: noArgs}
	enable := &cobra.Command{Use: "enable NAME", Short: "enable a disabled webhook; it resumes from its position", Args: oneName}
	replay := &cobra.Command{Use: "replay NAME --from ID", Short: "deliver again every matching entry after journal id ID", Args: oneName}
	for _, sub := range []*cobra.Command{list, enable, replay} {
		var o webhooksOptions
		verb := sub.Name()
		o.common.register(sub.Flags())
		switch verb {
		case "list":
			sub.Flags().BoolVar(&o.asJSON, "json", false, "one JSON object per webhook")
		case "replay":
			sub.Flags().Int64Var(&o.from, "from", -1, "the journal id after which to deliver again")
		}
		sub.RunE = func(cmd *cobra.Command, args []string) error {
			if verb == "replay" && o.from < 0 {
				return usagef("replay needs --from ID: the journal id after which to deliver again")
			}
			name := ""
			if len(args) > 0 {
				name = args[0]
			}
			return webhooksCmd(cmd.Context(), env, verb, &o, name)
		}
		c.AddCommand(sub)
	}
	return c
}

func oneName(_ *cobra.Command, args []string) error {
	if len(args) != 1 {
		return usagef("name one webhook")
	}
	return nil
}

// webhooksCmd runs webhooks list, enable or replay.
func webhooksCmd(ctx context.Context, env *cli, verb string, o *webhooksOptions, name string) error {
	asJSON, from := &o.asJSON, &o.from
	cfg, db, err := o.common.open(ctx, env)
	if err != nil {
		return err
	}
	defer db.Close()
	known := map[string]bool{}
	for _, w := range cfg.webhooks() {
		known[w.Name] = true
	}
	if verb != "list" && !known[name] {
		return fmt.Errorf("no webhook named %q in bridges.http.webhooks (or bridges.crm.senior.notify_url)", name)
	}
	now := time.Now()
	switch verb {
	case "enable":
		if err := httpbridge.SetDisabled(ctx, db, name, false, now); err != nil {
			return fmt.Errorf("enable webhook: %w", err)
		}
		fmt.Fprintf(env.stdout, "webhook %s enabled\n", name)
		return nil
	case "replay":
		gen, err := httpbridge.Replay(ctx, db, name, *from, now)
		if err != nil {
			return fmt.Errorf("replay webhook: %w", err)
		}
		fmt.Fprintf(env.stdout, "webhook %s delivers again after journal id %d (generation %d)\n", name, *from, gen)
		return nil
	}
	head, err := db.JournalHead(ctx)
	if err != nil {
		return fmt.Errorf("read journal head: %w", err)
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 0, 2, ' ', 0)
	if !*asJSON {
		fmt.Fprintln(tw, "NAME\tSTATE\tPOSITION\tLAG\tURL")
	}
	for _, w := range cfg.webhooks() {
		cs, err := httpbridge.ReadControl(ctx, db, w.Name)
		if err != nil {
			return fmt.Errorf("read webhook %s: %w", w.Name, err)
		}
		state, pos := "enabled", cs.Position
		if cs.Disabled {
			state = "disabled"
		}
		if !cs.Found {
			pos = head // a new endpoint starts from the head
		}
		if *asJSON {
			_ = jsonOut(env.stdout, false).Encode(map[string]any{"name": w.Name, "url": httpbridge.RedactURL(w.URL), "disabled": cs.Disabled, "position": pos,
				"lag": max(head-pos, 0), "generation": cs.Gen})
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", w.Name, state, strconv.FormatInt(pos, 10), max(head-pos, 0), httpbridge.RedactURL(w.URL))
	}
	if *asJSON {
		return nil
	}
	return tw.Flush()
}
