package relay

import (
	"cmp"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ReconcileStore is what the reconciliation reads.
type ReconcileStore interface {
	Operators
	JournalReader
}

// clockSkew bounds how far apart the relays' clocks may be: journal ids
// follow time within it (each writer stamps rows with its own clock).
const clockSkew = time.Minute

// ReconcileJob writes, for a period, one CSV row per agent of what the
// journal and relay_dead say happened (ReconcileColumns), to Dir, and the
// totals to the run's summary. The period is the run's From/To, or by
// default the day before the slot's day in the job's zone. The journal is
// read a page at a time in id order from the period's first id (found by
// bisection on the primary key: ids follow time), so a day costs one read of
// that day's rows whatever the journal's size; memory grows with the number
// of agents and of commands awaiting their reply, not with the period's.
type ReconcileJob struct {
	Store  ReconcileStore
	Dir    string
	Logger *slog.Logger
	// ReplyGrace is how long after the period a reply still counts for a
	// command of the period (1m).
	ReplyGrace time.Duration
	Page       int // journal rows a read (5000)
}

// ReconcileColumns are the CSV's header, in order.
var ReconcileColumns = []string{
	"agent", "period_from", "period_to",
	"commands", "commands_by_verb", "replies_ok", "replies_err",
	"dead", "dead_by_reason", "in_doubt",
	"calls_in", "calls_out", "calls_without_endcall", "commands_without_reply",
	"reply_latency_median_ms", "reply_latency_p99_ms",
}

type agentTally struct {
	commands, ok, errs, dead, inDoubt int64
	callsIn, callsOut, noEnd, noReply int64
	byVerb, byReason                  map[string]int64
	inCall                            bool
	lat                               latencies
}

// ReconcilePeriod is the default period of a run at slot: the previous
// calendar day in loc (23 or 25 hours on the days clocks change).
func ReconcilePeriod(slot time.Time, loc *time.Location) (from, to time.Time) {
	if loc == nil {
		loc = time.Local
	}
	d := slot.In(loc)
	to = time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc)
	from = time.Date(d.Year(), d.Month(), d.Day()-1, 0, 0, 0, 0, loc)
	return from, to
}

// Run is the job's JobFunc.
func (j ReconcileJob) Run(ctx context.Context, run RunInfo) (map[string]any, error) {
	from, to := run.From, run.To
	if from.IsZero() || to.IsZero() {
		from, to = ReconcilePeriod(run.Slot, run.Location)
	}
	if !to.After(from) {
		return nil, fmt.Errorf("reconcile: empty period %v – %v", from, to)
	}
	grace, pageSize := j.ReplyGrace, j.Page
	if grace <= 0 {
		grace = time.Minute
	}
	if pageSize <= 0 {
		pageSize = 5000
	}
	agents := map[string]*agentTally{}
	tally := func(agent string) *agentTally {
		a := agents[agent]
		if a == nil {
			a = &agentTally{byVerb: map[string]int64{}, byReason: map[string]int64{}}
			agents[agent] = a
		}
		return a
	}
	pending := map[int64]string{} // inbox id of a period's command → agent, until its reply
	var rows int64
	err := j.eachJournal(ctx, from, to.Add(grace), pageSize, run.Progress, func(e JournalEntry) {
		if e.Kind == KindNote {
			return // the relay's own entries: no message of the agent's
		}
		inPeriod := e.At.Before(to)
		if !inPeriod {
			// the grace after the period: only the replies awaited and
			// the ends of the calls in progress at its end
			if e.Kind == KindReply {
				delete(pending, e.InboxID)
			}
			if a := agents[e.Agent]; a != nil && a.inCall {
				if f, _ := Parse(e.Frame); len(f) > 1 && f[1] == "EndCall" {
					a.inCall = false
				}
			}
			return
		}
		rows++
		f, _ := Parse(e.Frame)
		verb := ""
		if len(f) > 1 {
			verb = f[1]
		}
		a := tally(e.Agent)
		switch e.Kind {
		case KindCommand:
			a.commands++
			a.byVerb[verb]++
			if e.InboxID != 0 {
				pending[e.InboxID] = e.Agent
			}
		case KindReply:
			delete(pending, e.InboxID)
			if e.Outcome == OutcomeErr {
				a.errs++
			} else {
				a.ok++
			}
			if e.Latency > 0 {
				a.lat.add(e.Latency)
			}
		}
		if e.Kind == KindEvent || e.Kind == KindReply {
			switch verb {
			case "R", "A":
				if e.Kind != KindEvent {
					break
				}
				if a.inCall {
					a.noEnd++ // a new call while the last one never ended
				}
				a.inCall = true
				if verb == "R" {
					a.callsIn++
				} else {
					a.callsOut++
				}
			case "EndCall":
				a.inCall = false
			}
		}
	})
	if err != nil {
		return nil, err
	}
	for _, agent := range pending {
		tally(agent).noReply++
	}
	if err := j.eachDead(ctx, from, to, func(d DeadLetter) {
		a := tally(d.Agent)
		a.dead++
		code, _, _ := strings.Cut(d.Reason, ":")
		a.byReason[code]++
		if code == "in-doubt" {
			a.inDoubt++
		}
	}); err != nil {
		return nil, err
	}
	for _, a := range agents {
		if a.inCall { // the period ended in a call that had not ended
			a.noEnd++
		}
	}
	file, err := j.write(from, to, agents, run.Location)
	if err != nil {
		return nil, err
	}
	var total agentTally
	for _, a := range agents {
		total.commands += a.commands
		total.ok += a.ok
		total.errs += a.errs
		total.dead += a.dead
		total.inDoubt += a.inDoubt
		total.noReply += a.noReply
		total.noEnd += a.noEnd
	}
	return map[string]any{
		"file": file, "from": from.UTC().Format(time.RFC3339), "to": to.UTC().Format(time.RFC3339),
		"agents": len(agents), "journal_rows": rows, "commands": total.commands, "replies_ok": total.ok,
		"replies_err": total.errs, "dead": total.dead, "in_doubt": total.inDoubt,
		"commands_without_reply": total.noReply, "calls_without_endcall": total.noEnd,
	}, nil
}

func (j ReconcileJob) eachJournal(ctx context.Context, from, to time.Time, page int, progress func(done, total int64), fn func(JournalEntry)) error {
	after, err := j.firstID(ctx, from.Add(-clockSkew))
	if err != nil {
		return err
	}
	start := after
	head, err := j.Store.JournalHead(ctx)
	if err != nil {
		return fmt.Errorf("journal head: %w", err)
	}
	report := func(at int64) {
		if progress != nil && head > start {
			progress(min(at, head)-start, head-start)
		}
	}
	defer func() { report(head) }()
	for {
		report(after)
		entries, err := j.Store.Journal(ctx, after, page)
		if err != nil {
			return fmt.Errorf("read journal: %w", err)
		}
		for _, e := range entries {
			if !e.At.Before(to.Add(clockSkew)) {
				return nil // past the period, whatever the skew
			}
			if !e.At.Before(from) && e.At.Before(to) {
				fn(e)
			}
		}
		if len(entries) < page {
			return nil
		}
		after = entries[len(entries)-1].ID
	}
}

// firstID is an id after which every journal row at or after t lies: the
// largest id whose next row is older than t, found with a few primary-key
// probes.
func (j ReconcileJob) firstID(ctx context.Context, t time.Time) (int64, error) {
	head, err := j.Store.JournalHead(ctx)
	if err != nil {
		return 0, fmt.Errorf("journal head: %w", err)
	}
	older := func(after int64) (bool, error) {
		e, err := j.Store.Journal(ctx, after, 1)
		if err != nil {
			return false, fmt.Errorf("read journal: %w", err)
		}
		return len(e) == 1 && e[0].At.Before(t), nil
	}
	lo, hi := int64(0), head
	if ok, err := older(lo); err != nil || !ok {
		return 0, err
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		ok, err := older(mid)
		if err != nil {
			return 0, err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, nil
}

func (j ReconcileJob) eachDead(ctx context.Context, from, to time.Time, fn func(DeadLetter)) error {
	after := int64(0)
	for {
		page, err := j.Store.DeadLetters(ctx, after, 1000)
		if err != nil {
			return fmt.Errorf("read dead letters: %w", err)
		}
		for _, d := range page {
			if !d.DiedAt.Before(from) && d.DiedAt.Before(to) {
				fn(d)
			}
		}
		if len(page) < 1000 {
			return nil
		}
		after = page[len(page)-1].ID
	}
}

// ReconcileFileName is the CSV's name for a period: the day when the
// period is one calendar day in loc, else both ends.
func ReconcileFileName(from, to time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.Local
	}
	f, t := from.In(loc), to.In(loc)
	if f.Hour() == 0 && f.Minute() == 0 && f.Second() == 0 && t.Equal(time.Date(f.Year(), f.Month(), f.Day()+1, 0, 0, 0, 0, loc)) {
		return "reconcile-" + f.Format("2006-01-02") + ".csv"
	}
	return "reconcile-" + f.Format("20060102T150405") + "-" + t.Format("20060102T150405") + ".csv"
}

// write puts the CSV in Dir atomically: a temporary file in the same
// directory, synced, then renamed, so a reader never sees half a report.
func (j ReconcileJob) write(from, to time.Time, agents map[string]*agentTally, loc *time.Location) (string, error) {
	if j.Dir == "" {
		return "", nil // summary only
	}
	if err := os.MkdirAll(j.Dir, 0o755); err != nil {
		return "", fmt.Errorf("reconcile dir: %w", err)
	}
	path := filepath.Join(j.Dir, ReconcileFileName(from, to, loc))
	tmp, err := os.CreateTemp(j.Dir, ".reconcile-*.tmp")
	if err != nil {
		return "", fmt.Errorf("reconcile file: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename, nothing is there
	if err := writeReconcileCSV(tmp, from, to, agents); err != nil {
		tmp.Close()
		return "", fmt.Errorf("reconcile file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", fmt.Errorf("reconcile file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("reconcile file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("reconcile file: %w", err)
	}
	return path, nil
}

// writeReconcileCSV writes the header and one row per agent, by agent.
func writeReconcileCSV(w io.Writer, from, to time.Time, agents map[string]*agentTally) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(ReconcileColumns); err != nil {
		return err
	}
	ms := func(d time.Duration) string { return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 3, 64) }
	n := func(v int64) string { return strconv.FormatInt(v, 10) }
	for _, name := range slices.Sorted(maps.Keys(agents)) {
		a := agents[name]
		if err := cw.Write([]string{
			name, from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339),
			n(a.commands), counts(a.byVerb), n(a.ok), n(a.errs),
			n(a.dead), counts(a.byReason), n(a.inDoubt),
			n(a.callsIn), n(a.callsOut), n(a.noEnd), n(a.noReply),
			ms(a.lat.quantile(0.5)), ms(a.lat.quantile(0.99)),
		}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// counts is "A=3;S=10", keys sorted.
func counts(m map[string]int64) string {
	keys := slices.SortedFunc(maps.Keys(m), cmp.Compare[string])
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+strconv.FormatInt(m[k], 10))
	}
	return strings.Join(parts, ";")
}
