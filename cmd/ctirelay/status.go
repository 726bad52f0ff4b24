package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// statusOptions are status's flags.
type statusOptions struct {
	common         commonFlags
	agents, asJSON bool
}

func newStatusCmd(env *cli) *cobra.Command {
	var o statusOptions
	c := &cobra.Command{
		Use:   "status",
		Short: "queue depth, oldest age, in flight, retrying, dead",
		Long: `Print what the relay_queue_status and relay_agent_status views show: the depth
of the queues, the oldest command's age, what is in flight, retrying and dead,
and the relays running. It reads an existing relay database and changes
nothing.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return statusCmd(cmd.Context(), env, &o) },
	}
	o.common.register(c.Flags())
	c.Flags().BoolVar(&o.agents, "agents", false, "also list each agent's pending commands and last activity")
	c.Flags().BoolVar(&o.asJSON, "json", false, "print JSON")
	return c
}

// statusCmd prints what the relay_queue_status and relay_agent_status views show.
func statusCmd(ctx context.Context, env *cli, o *statusOptions) error {
	cfg, db, err := o.common.open(ctx, env)
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
	if o.agents {
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
	held, err := db.LeaseHolders(ctx)
	if err != nil {
		return fmt.Errorf("read leases: %w", err)
	}
	others := withLeases(relays, held)
	warnings, err := columnWarnings(ctx, cfg, db)
	if err != nil {
		warnings = append(warnings, fmt.Sprintf("could not read the column types of the ERP's tables: %v", err))
	}
	spoolRow, err := readFileSpool(ctx, cfg, db, now)
	if err != nil {
		return err
	}
	if o.asJSON {
		out := map[string]any{
			"pending": st.Pending, "inbox": st.Inbox, "ready": st.Ready, "in_flight": st.InFlight,
			"retrying": st.Retrying, "dead": st.Dead, "outbox": st.Outbox,
			"oldest_age_s": st.OldestAge.Seconds(), "done_1m": st.Done1m,
			"nodes": relays, "stale_after_s": staleAfter(cfg).Seconds(),
		}
		if len(others) > 0 {
			out["leases_without_node"] = others
		}
		if len(warnings) > 0 {
			out["warnings"] = warnings
		}
		if spoolRow != nil {
			out["file_spool"] = spoolRow
		}
		if o.agents {
			if rows == nil {
				rows = []agentJSON{}
			}
			out["agents"] = rows
		}
		enc := jsonOut(env.stdout, true)
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
	printOtherLeases(env.stdout, others)
	if err := printFileSpool(env.stdout, spoolRow); err != nil {
		return err
	}
	for _, w := range warnings {
		fmt.Fprintf(env.stdout, "warning: %s\n", w)
	}
	if o.agents {
		fmt.Fprintln(env.stdout)
		tw = tabwriter.NewWriter(env.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "AGENT\tPENDING\tIN FLIGHT\tLAST ACTIVITY")
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", cell(r.Agent), r.Pending, r.InFlight, r.LastActivity)
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
