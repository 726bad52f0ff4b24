package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// tailCmd follows the journal: every command taken, reply and event.
func tailCmd(ctx context.Context, env *cli, args []string) error {
	fs := newFlags(env, "tail", "")
	var common commonFlags
	common.register(fs)
	from := fs.Int64("from", -1, "start after this journal id (default: from now; 0: from the beginning)")
	agent := fs.String("agent", "", "only this agent's messages")
	asJSON := fs.Bool("json", false, "one JSON object per line")
	follow := fs.Bool("f", true, "keep following (false: print what is there and exit)")
	poll := fs.Duration("poll", 200*time.Millisecond, "how often to look for new entries")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, db, err := common.open(ctx, env)
	if err != nil {
		return err
	}
	defer db.Close()
	feed, err := newFeed(db, cfg, *poll, relay.SystemClock{}, nil)
	if err != nil {
		return err
	}
	if err := feed.Start(ctx); err != nil {
		return err
	}
	defer feed.Stop()
	var filter relay.Filter
	if *agent != "" {
		filter.Agents = []string{*agent}
	}
	var opts []relay.SubscribeOption
	if *from >= 0 {
		opts = append(opts, relay.After(*from))
	}
	sub, err := feed.Subscribe("", filter, func(d relay.Delivery) { printEntry(env.stdout, d.Entry, *asJSON) }, opts...)
	if err != nil {
		return err
	}
	defer sub.Close()
	if !*follow {
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
		b, _ := json.Marshal(m)
		fmt.Fprintln(w, string(b))
		return
	}
	extra := ""
	if e.Kind == relay.KindReply {
		extra = fmt.Sprintf("  %s %.1fms", e.Outcome, float64(e.Latency)/float64(time.Millisecond))
	}
	if e.Error != "" {
		// not in T_TTO: the database refused it (it is in relay_dead)
		extra += "  NOT WRITTEN: " + e.Error
	}
	fmt.Fprintf(w, "%s %6d %-3s %-8s %-6s %-12s %s%s\n", e.At.UTC().Format("2006-01-02T15:04:05.000Z"), e.ID, e.Direction, e.Kind, e.Origin, e.Agent, e.Frame, extra)
}
