package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// deadCmd lists, retries or drops dead letters.
func deadCmd(ctx context.Context, env *cli, args []string) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "retry" && args[0] != "drop") {
		fmt.Fprintln(env.stderr, "usage: ctirelay dead list [--json] | dead retry ID…|--all | dead drop ID…|--all")
		return errUsage
	}
	verb := args[0]
	fs := newFlags(env, "dead "+verb, "[ID…]")
	var common commonFlags
	common.register(fs)
	asJSON := fs.Bool("json", false, "list: print JSON")
	all := fs.Bool("all", false, "retry/drop: every dead letter")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg, err := common.load(env)
	if err != nil {
		return err
	}
	var ids []int64
	for _, a := range fs.Args() {
		id, err := strconv.ParseInt(a, 10, 64)
		if err != nil {
			return fmt.Errorf("dead letter id %q is not a number", a)
		}
		ids = append(ids, id)
	}
	if verb != "list" && len(ids) == 0 && !*all {
		return fmt.Errorf("name the dead letters to %s by id, or pass --all", verb)
	}
	db, err := openDatabase(ctx, cfg, false, newLogger(cfg.Log, env.stderr))
	if err != nil {
		return err
	}
	defer db.Close()
	if verb == "list" || *all {
		var after int64
		var listed []int64
		tw := tabwriter.NewWriter(env.stdout, 0, 0, 2, ' ', 0)
		if verb == "list" && !*asJSON {
			fmt.Fprintln(tw, "ID\tDIED\tSOURCE\tAGENT\tCODE\tRETRY\tATTEMPTS\tREASON\tFRAME")
		}
		for {
			batch, err := db.DeadLetters(ctx, after, 500)
			if err != nil {
				return fmt.Errorf("list dead letters: %w", err)
			}
			for _, d := range batch {
				after = d.ID
				listed = append(listed, d.ID)
				if verb != "list" {
					continue
				}
				if *asJSON {
					b, _ := json.Marshal(map[string]any{"id": d.ID, "inbox_id": d.InboxID, "source": d.Source, "ref": d.Ref,
						"agent": d.Agent, "verb": string(d.Verb), "frame": d.Frame, "code": d.Code, "retryable": retryable(d),
						"reason": d.Reason, "attempts": d.Attempts,
						"enqueued_at": d.EnqueuedAt.UTC().Format(time.RFC3339Nano), "died_at": d.DiedAt.UTC().Format(time.RFC3339Nano)})
					fmt.Fprintln(env.stdout, string(b))
					continue
				}
				retry := "no"
				if retryable(d) {
					retry = "yes"
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", d.ID, d.DiedAt.UTC().Format(time.RFC3339), d.Source, d.Agent,
					orDefault(d.Code, "-"), retry, d.Attempts, d.Reason, clip(d.Frame, 80))
			}
			if len(batch) < 500 {
				break
			}
		}
		if verb == "list" {
			return tw.Flush()
		}
		ids = listed
	}
	var n int
	if verb == "retry" {
		n, err = db.RetryDead(ctx, ids, time.Now())
	} else {
		n, err = db.DropDead(ctx, ids)
	}
	if err != nil {
		return fmt.Errorf("%s dead letters: %w", verb, err)
	}
	past := map[string]string{"retry": "re-enqueued", "drop": "dropped"}[verb]
	fmt.Fprintf(env.stdout, "%d of %d dead letters %s\n", n, len(ids), past)
	return nil
}

// retryable reports whether dead retry can re-enqueue the letter: only
// commands can; a message refused at intake never had a verb.
func retryable(d relay.DeadLetter) bool { return d.Verb != "" }

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
