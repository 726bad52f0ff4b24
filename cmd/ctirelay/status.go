package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"
)

// statusCmd prints what the relay_queue_status and relay_agent_status views show.
func statusCmd(ctx context.Context, env *cli, args []string) error {
	fs := newFlags(env, "status", "")
	var common commonFlags
	common.register(fs)
	agents := fs.Bool("agents", false, "also list each agent's pending commands and last activity")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, db, err := common.open(ctx, env)
	if err != nil {
		return err
	}
	defer db.Close()
	now := time.Now()
	st, err := db.Status(ctx, now)
	if err != nil {
		return fmt.Errorf("read status: %w", err)
	}
	type agentJSON struct {
		Agent        string `json:"agent"`
		Pending      int64  `json:"pending"`
		InFlight     int64  `json:"in_flight"`
		LastActivity string `json:"last_activity,omitempty"`
	}
	var rows []agentJSON
	if *agents {
		list, err := db.Agents(ctx, now)
		if err != nil {
			return fmt.Errorf("read agents: %w", err)
		}
		for _, a := range list {
			r := agentJSON{Agent: a.Agent, Pending: a.Pending, InFlight: a.InFlight}
			if !a.LastActivity.IsZero() {
				r.LastActivity = a.LastActivity.UTC().Format(time.RFC3339)
			}
			rows = append(rows, r)
		}
	}
	nodes, err := db.Nodes(ctx)
	if err != nil {
		return fmt.Errorf("read relays: %w", err)
	}
	relays := relayRows(nodes, now, staleAfter(cfg))
	warnings, err := columnWarnings(ctx, cfg, db)
	if err != nil {
		warnings = append(warnings, fmt.Sprintf("could not read the column types of the ERP's tables: %v", err))
	}
	if *asJSON {
		out := map[string]any{
			"pending": st.Pending, "inbox": st.Inbox, "ready": st.Ready, "in_flight": st.InFlight,
			"retrying": st.Retrying, "dead": st.Dead, "outbox": st.Outbox,
			"oldest_age_s": st.OldestAge.Seconds(), "done_1m": st.Done1m,
			"nodes": relays, "stale_after_s": staleAfter(cfg).Seconds(),
		}
		if len(warnings) > 0 {
			out["warnings"] = warnings
		}
		if *agents {
			if rows == nil {
				rows = []agentJSON{}
			}
			out["agents"] = rows
		}
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "waiting in %s\t%d\n", orDefault(cfg.Database.InboundTable, "T_TTI"), st.Pending)
	fmt.Fprintf(tw, "inbox\t%d\t(ready %d, in flight %d, retrying %d)\n", st.Inbox, st.Ready, st.InFlight, st.Retrying)
	fmt.Fprintf(tw, "oldest\t%s\n", st.OldestAge.Round(time.Millisecond))
	fmt.Fprintf(tw, "dead\t%d\n", st.Dead)
	fmt.Fprintf(tw, "unread in %s\t%d\n", orDefault(cfg.Database.OutboundTable, "T_TTO"), st.Outbox)
	fmt.Fprintf(tw, "answered last minute\t%d\n", st.Done1m)
	fmt.Fprintf(tw, "relays\t%d\t(stale %d)\n", len(relays), countStale(relays))
	if err := tw.Flush(); err != nil {
		return err
	}
	if err := printRelays(env.stdout, relays); err != nil {
		return err
	}
	for _, w := range warnings {
		fmt.Fprintf(env.stdout, "warning: %s\n", w)
	}
	if *agents {
		fmt.Fprintln(env.stdout)
		tw = tabwriter.NewWriter(env.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "AGENT\tPENDING\tIN FLIGHT\tLAST ACTIVITY")
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", r.Agent, r.Pending, r.InFlight, r.LastActivity)
		}
		return tw.Flush()
	}
	return nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
