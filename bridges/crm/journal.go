package crm

import (
	"context"
	"log/slog"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// Note is something the relay decided about a request or an event that
// belongs in the audit trail: a report for an unknown extension, a pop
// suppressed by a rule, a lookup that failed.
type Note struct {
	Agent  string // the login concerned, when one is known
	What   string // short kind: "unknown-extension", "pop-suppressed", "lookup-failed"
	Rule   string // the rule or key that decided, when one did
	Detail string
}

// Text is the note as the journal's frame column holds it: the rule
// first, so that `frame LIKE 'min_length:%'` finds a rule's decisions.
func (n Note) Text() string {
	if n.Rule == "" {
		return n.Detail
	}
	return n.Rule + ": " + n.Detail
}

// Journal records notes.
type Journal interface {
	Note(ctx context.Context, n Note)
}

// noteTimeout bounds writing one note: a request whose client went away
// still gets its note written.
const noteTimeout = 5 * time.Second

// Notes writes notes to the relay's journal (relay_journal) as entries of
// kind note, origin Origin, through the store's relay.Notebook. A note the
// store cannot take is logged at Warn with journal=false instead; with no
// Notebook every note is logged at Info.
type Notes struct {
	Notebook relay.Notebook
	Origin   string // the consumer: "crm:senior", "crm:divalto", "crm:clicktodial", "crm:platform"
	Clock    relay.Clock
	Logger   *slog.Logger
}

// Note implements Journal.
func (j Notes) Note(ctx context.Context, n Note) {
	err := error(nil)
	if j.Notebook != nil {
		now := time.Now()
		if j.Clock != nil {
			now = j.Clock.Now()
		}
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), noteTimeout)
		err = j.Notebook.Note(wctx, []relay.Note{{Agent: n.Agent, Origin: j.Origin, What: n.What, Text: n.Text()}}, now)
		cancel()
		if err == nil {
			return
		}
	}
	if j.Logger == nil {
		return
	}
	level := slog.LevelInfo
	attrs := []slog.Attr{slog.String("origin", j.Origin), slog.String("agent", n.Agent), slog.String("rule", n.Rule), slog.String("detail", n.Detail)}
	if err != nil {
		level = slog.LevelWarn
		attrs = append(attrs, slog.Bool("journal", false), slog.String("err", err.Error()))
	}
	j.Logger.LogAttrs(ctx, level, n.What, attrs...)
}

// JournalFunc adapts a function to Journal.
type JournalFunc func(ctx context.Context, n Note)

// Note calls fn.
func (fn JournalFunc) Note(ctx context.Context, n Note) { fn(ctx, n) }
