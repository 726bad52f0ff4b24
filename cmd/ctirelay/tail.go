package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ctirelay/ctirelay/relay"
)

// tailOptions are tail's flags.
type tailOptions struct {
	common         commonFlags
	from           int64
	agent          string
	asJSON, follow bool
	poll           time.Duration
}

func newTailCmd(env *cli) *cobra.Command {
	var o tailOptions
	c := &cobra.Command{
		Use:   "tail",
		Short: "follow the journal: every message in and out",
		Long: `Follow relay_journal: every command taken, reply and event, from now (or
after --from ID) until interrupted, or with -f=false until the end.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// -1, the default, means "from now"; any other negative id
			// meant the same without a word.
			if o.from < -1 {
				return usagef("--from: a journal id, 0 or more (leave it out to start from now)")
			}
			return tailCmd(cmd.Context(), env, &o)
		},
	}
	fs := c.Flags()
	o.common.register(fs)
	fs.Int64Var(&o.from, "from", -1, "start after this journal id (default: from now; 0: from the beginning)")
	fs.StringVar(&o.agent, "agent", "", "only this agent's messages")
	fs.BoolVar(&o.asJSON, "json", false, "one JSON object per line")
	fs.BoolVarP(&o.follow, "follow", "f", true, "keep following (-f=false: print what is there and exit)")
	fs.DurationVar(&o.poll, "poll", 200*time.Millisecond, "how often to look for new entries")
	// --f=false was the spelling of earlier versions.
	fs.SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		if name == "f" {
			name = "follow"
		}
		return pflag.NormalizedName(name)
	})
	return c
}

// tailCmd follows the journal: every command taken, reply and event.
func tailCmd(ctx context.Context, env *cli, o *tailOptions) error {
	cfg, db, err := o.common.open(ctx, env)
	if err != nil {
		return err
	}
	defer db.Close()
	feed, err := newFeed(db, cfg, o.poll, relay.SystemClock{}, nil)
	if err != nil {
		return err
	}
	if err := feed.Start(ctx); err != nil {
		return err
	}
	defer feed.Stop()
	var filter relay.Filter
	if o.agent != "" {
		filter.Agents = []string{o.agent}
	}
	var opts []relay.SubscribeOption
	if o.from >= 0 {
		opts = append(opts, relay.After(o.from))
	}
	sub, err := feed.Subscribe("", filter, func(d relay.Delivery) { printEntry(env.stdout, d.Entry, o.asJSON) }, opts...)
	if err != nil {
		return err
	}
	defer sub.Close()
	if !o.follow {
		// What is there now, then exit.
		if err := feed.Flush(ctx); err != nil && ctx.Err() == nil {
			return fmt.Errorf("read journal: %w", err)
		}
		return nil
	}
	select {
	case <-ctx.Done():
	case <-sub.Done():
		if err := sub.Err(); err != nil && ctx.Err() == nil {
			return fmt.Errorf("follow journal: %w", err)
		}
	}
	return nil
}

func printEntry(w io.Writer, e relay.JournalEntry, asJSON bool) {
	if asJSON {
		m := map[string]any{
			"id": e.ID, "at": e.At.UTC().Format(time.RFC3339Nano), "direction": e.Direction, "kind": e.Kind,
			"agent": e.Agent, "frame": e.Frame, "origin": e.Origin, "ref": e.Ref, "inbox_id": e.InboxID,
			"outcome": e.Outcome, "latency_ms": float64(e.Latency) / float64(time.Millisecond),
		}
		if e.Error != "" {
			m["error"] = e.Error
		}
		_ = jsonOut(w, false).Encode(m)
		return
	}
	extra := ""
	switch e.Kind {
	case relay.KindReply:
		extra = fmt.Sprintf("  %s %.1fms", e.Outcome, float64(e.Latency)/float64(time.Millisecond))
	case relay.KindNote:
		extra = "  (" + e.Ref + ")" // what the note is about
	}
	if e.Error != "" {
		// not in T_TTO: the database refused it (it is in relay_dead)
		extra += "  NOT WRITTEN: " + e.Error
	}
	fmt.Fprintf(w, "%s %6d %-3s %-8s %-6s %-12s %s%s\n", e.At.UTC().Format("2006-01-02T15:04:05.000Z"), e.ID, e.Direction, e.Kind, cell(e.Origin), cell(e.Agent), cell(e.Frame), cell(extra))
}
