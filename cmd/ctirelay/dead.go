package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ctirelay/ctirelay/relay"
)

// deadOptions are the flags of the dead subcommands.
type deadOptions struct {
	common commonFlags
	asJSON bool
	all    bool
}

// newDeadCmd lists, retries or drops dead letters.
func newDeadCmd(env *cli) *cobra.Command {
	c := &cobra.Command{
		Use:   "dead",
		Short: "list, retry or drop dead letters",
		Long: `Dead letters are the commands the relay gave up on and the messages it refused
at intake, each with the ERR code answered. List them, re-enqueue commands at
the back of their agent's queue, or drop them for good.`,
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "list the dead letters",
		Args:  noArgs,
	}
	retry := &cobra.Command{
		Use:   "retry ID... | --all",
		Short: "re-enqueue dead commands at the back of their agent's queue",
		Long: `Re-enqueue dead commands at the back of their agent's queue. A message refused
at intake never had a verb and cannot be retried. Exit status 1 when a named
letter was not re-enqueued (not found, or cannot be retried); with --all, the
letters that cannot be retried are skipped.`,
	}
	drop := &cobra.Command{
		Use:   "drop ID... | --all",
		Short: "delete dead letters for good",
		Long:  `Delete dead letters for good. Exit status 1 when a named letter was not found.`,
	}
	for _, sub := range []*cobra.Command{list, retry, drop} {
		var o deadOptions
		verb := sub.Name()
		o.common.register(sub.Flags())
		if verb == "list" {
			sub.Flags().BoolVar(&o.asJSON, "json", false, "one JSON object per dead letter")
		} else {
			sub.Flags().BoolVar(&o.all, "all", false, "every dead letter")
			sub.Args = func(_ *cobra.Command, args []string) error {
				if len(args) == 0 && !o.all {
					return usagef("name the dead letters to %s by id, or pass --all", verb)
				}
				if len(args) > 0 && o.all {
					return usagef("name dead letters or pass --all, not both")
				}
				return nil
			}
		}
		sub.RunE = func(cmd *cobra.Command, args []string) error {
			ids, err := parseIDs(args)
			if err != nil {
				return err
			}
			return deadCmd(cmd.Context(), env, verb, &o, ids)
		}
		c.AddCommand(sub)
	}
	return c
}

func parseIDs(args []string) ([]int64, error) {
	ids := make([]int64, 0, len(args))
	seen := map[int64]bool{}
	for _, a := range args {
		id, err := strconv.ParseInt(a, 10, 64)
		if err != nil || id <= 0 {
			return nil, usagef("dead letter id %q is not a number", a)
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// deadCmd runs dead list, retry or drop.
func deadCmd(ctx context.Context, env *cli, verb string, o *deadOptions, ids []int64) error {
	_, db, err := o.common.open(ctx, env)
	if err != nil {
		return err
	}
	defer db.Close()
	if verb == "list" {
		return listDead(ctx, env, db, o.asJSON)
	}
	// Every named letter is looked up first, so each one not acted on is
	// named with its reason rather than counted.
	var letters []relay.DeadLetter
	var notFound []int64
	if o.all {
		if err := eachDead(ctx, db, func(d relay.DeadLetter) { letters = append(letters, d) }); err != nil {
			return err
		}
	} else {
		for _, id := range ids {
			d, ok, err := deadLetter(ctx, db, id)
			if err != nil {
				return err
			}
			if !ok {
				notFound = append(notFound, id)
				continue
			}
			letters = append(letters, d)
		}
	}
	var act, refused []int64
	for _, d := range letters {
		if verb == "retry" && !retryable(d) {
			refused = append(refused, d.ID)
			continue
		}
		act = append(act, d.ID)
	}
	n := 0
	if len(act) > 0 {
		if verb == "retry" {
			n, err = db.RetryDead(ctx, act, time.Now())
		} else {
			n, err = db.DropDead(ctx, act)
		}
		if err != nil {
			return fmt.Errorf("%s dead letters: %w", verb, err)
		}
	}
	past := map[string]string{"retry": "re-enqueued", "drop": "dropped"}[verb]
	fmt.Fprintf(env.stdout, "%d of %d dead letters %s\n", n, len(letters)+len(notFound), past)
	var why []string
	if len(notFound) > 0 {
		why = append(why, deadIDs(notFound)+": not found")
	}
	if len(refused) > 0 {
		why = append(why, deadIDs(refused)+": cannot be retried (refused at intake, never a command)")
	}
	if n < len(act) {
		why = append(why, fmt.Sprintf("%d gone meanwhile (retried or dropped by someone else)", len(act)-n))
	}
	if len(why) == 0 {
		return nil
	}
	if o.all && len(notFound) == 0 && n == len(act) {
		// --all asks for what can be retried: skipping the rest is no failure.
		fmt.Fprintf(env.stderr, "ctirelay dead %s: skipped %s\n", verb, strings.Join(why, "; "))
		return nil
	}
	return fmt.Errorf("not %s: %s", past, strings.Join(why, "; "))
}

// deadLetter looks one letter up by id.
func deadLetter(ctx context.Context, db database, id int64) (relay.DeadLetter, bool, error) {
	batch, err := db.DeadLetters(ctx, id-1, 1)
	if err != nil {
		return relay.DeadLetter{}, false, fmt.Errorf("read dead letter %d: %w", id, err)
	}
	if len(batch) == 0 || batch[0].ID != id {
		return relay.DeadLetter{}, false, nil
	}
	return batch[0], true, nil
}

// eachDead calls fn for every dead letter, in id order, a page at a time.
func eachDead(ctx context.Context, db database, fn func(relay.DeadLetter)) error {
	var after int64
	for {
		batch, err := db.DeadLetters(ctx, after, 500)
		if err != nil {
			return fmt.Errorf("list dead letters: %w", err)
		}
		for _, d := range batch {
			fn(d)
			after = d.ID
		}
		if len(batch) < 500 {
			return nil
		}
	}
}

func listDead(ctx context.Context, env *cli, db database, asJSON bool) error {
	if asJSON {
		return eachDead(ctx, db, func(d relay.DeadLetter) {
			_ = jsonOut(env.stdout, false).Encode(map[string]any{"id": d.ID, "inbox_id": d.InboxID, "source": d.Source, "ref": d.Ref,
				"agent": d.Agent, "verb": string(d.Verb), "frame": d.Frame, "code": d.Code, "retryable": retryable(d),
				"reason": d.Reason, "attempts": d.Attempts,
				"enqueued_at": d.EnqueuedAt.UTC().Format(time.RFC3339Nano), "died_at": d.DiedAt.UTC().Format(time.RFC3339Nano)})
		})
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tDIED\tSOURCE\tAGENT\tCODE\tRETRY\tATTEMPTS\tREASON\tFRAME")
	err := eachDead(ctx, db, func(d relay.DeadLetter) {
		retry := "no"
		if retryable(d) {
			retry = "yes"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", d.ID, d.DiedAt.UTC().Format(time.RFC3339), cell(d.Source), cell(d.Agent),
			cell(orDefault(d.Code, "-")), retry, d.Attempts, cell(d.Reason), clip(cell(d.Frame), 80))
	})
	if err != nil {
		return err
	}
	return tw.Flush()
}

// deadIDs names letters: "dead letter 5", "dead letters 5, 7".
func deadIDs(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	if len(ids) == 1 {
		return "dead letter " + s[0]
	}
	return "dead letters " + strings.Join(s, ", ")
}

// retryable reports whether dead retry can re-enqueue the letter: only
// commands can; a message refused at intake never had a verb.
func retryable(d relay.DeadLetter) bool { return d.Verb != "" }
