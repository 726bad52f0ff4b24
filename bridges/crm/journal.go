package crm

import (
	"context"
	"log/slog"
)

// Note is something the relay decided about a request or an event that
// belongs in the audit trail: a report for an unknown extension, a pop
// suppressed by a rule, a lookup that failed.
type Note struct {
	Agent  string // the login concerned, when one is known
	What   string // short kind: "unknown-extension", "pop-suppressed", "lookup-failed", "setevent", "crm-notify"
	Rule   string // the rule or key that decided, when one did
	Detail string
}

// Journal records notes. The relay's journal table (relay_journal) holds
// messages only (its kind is command, rejected, reply or event), so the
// default, LogJournal, writes them as structured log records with
// journal=true; a store-backed Journal can replace it without touching the
// handlers.
type Journal interface {
	Note(ctx context.Context, n Note)
}

// LogJournal writes notes to a logger at Info.
type LogJournal struct{ Logger *slog.Logger }

// Note implements Journal.
func (j LogJournal) Note(ctx context.Context, n Note) {
	log := j.Logger
	if log == nil {
		return
	}
	log.LogAttrs(ctx, slog.LevelInfo, "crm: "+n.What, slog.Bool("journal", true), slog.String("agent", n.Agent),
		slog.String("rule", n.Rule), slog.String("detail", n.Detail))
}

// JournalFunc adapts a function to Journal.
type JournalFunc func(ctx context.Context, n Note)

// Note calls fn.
func (fn JournalFunc) Note(ctx context.Context, n Note) { fn(ctx, n) }
