package bench

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Report is everything one ctirelay bench invocation measured.
type Report struct {
	Database    string       `json:"database"`
	Agents      int          `json:"agents"`
	Batch       int          `json:"batch"`
	MaxInFlight int          `json:"max_in_flight"`
	Poll        string       `json:"poll"`
	CPUs        int          `json:"cpus"`
	LoadAverage string       `json:"load_average,omitempty"` // at the start
	Started     string       `json:"started"`
	Floor       *floorResult `json:"floor,omitempty"`
	Runs        []runResult  `json:"runs"`
	Notes       []string     `json:"notes,omitempty"`    // how to read the figures (e.g. --agents 1)
	Profiles    []string     `json:"profiles,omitempty"` // CPU profiles written, one per run
}

func (r *Report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func (r *Report) writeText(w io.Writer) {
	fmt.Fprintf(w, "ctirelay bench: %s, %s, batch %d, max in flight %d, poll %s\n",
		r.Database, plural(r.Agents, "agent"), r.Batch, r.MaxInFlight, r.Poll)
	fmt.Fprintf(w, "machine: %d CPUs, load average %s at start\n", r.CPUs, cmp.Or(r.LoadAverage, "unknown"))
	if f := r.Floor; f != nil {
		fmt.Fprintf(w, "database floor: %s rows/s (%s rows T_TTI→T_TTO in batches of %d, %.2fs)\n",
			thousands(int64(f.RowsPerSec)), thousands(f.Rows), f.Batch, f.Seconds)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	if len(r.Profiles) > 0 {
		fmt.Fprintf(w, "cpu profile of the relay's runs: %s\n", strings.Join(r.Profiles, ", "))
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "mode\tbacklog\tcommands\tseconds\tcommands/s\tof floor\tstmts/cmd\ttx/cmd\tpeak RSS\t")
	for _, run := range r.Runs {
		backlog, floor, rss := "-", "-", "-"
		if run.Backlog > 0 {
			backlog = thousands(run.Backlog)
		}
		if run.OfFloor > 0 {
			floor = percent(run.OfFloor)
		}
		if run.PeakRSS > 0 {
			rss = fmt.Sprintf("%.0f MB", float64(run.PeakRSS)/(1<<20))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.2f\t%s\t%s\t%.3f\t%.3f\t%s\t\n", run.Mode, backlog, thousands(run.Commands),
			run.Seconds, thousands(int64(run.PerSecond)), floor, run.StatementsPer, run.TxPer, rss)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nstore calls (calls, rows per call, ms per call, busy seconds):")
	for _, run := range r.Runs {
		fmt.Fprintf(w, "  %s %s:", run.Mode, thousands(max(run.Backlog, run.Sent)))
		for _, op := range []string{"intake", "claim", "settle"} {
			s := run.Store[op]
			fmt.Fprintf(w, "  %s %s × %.0f, %.1f ms, %.1fs", op, thousands(s.Calls), s.RowsPer, s.MillisPer, s.BusySecond)
		}
		fmt.Fprintf(w, "  (leased by settles %s, by intakes %s)\n", thousands(run.LeasedBySettle), thousands(run.LeasedByIntake))
	}
	if len(r.Runs) > 0 && r.Runs[0].ProcessCPUPer > 0 {
		fmt.Fprintln(w, "\nCPU per command, from the relay's start to its last reply (µs):")
		for _, run := range r.Runs {
			db := "not read"
			if run.DatabaseCPUPer > 0 {
				db = fmt.Sprintf("%.1f", run.DatabaseCPUPer)
			}
			fmt.Fprintf(w, "  %s %s: bench process %.1f, database server %s\n", run.Mode, thousands(max(run.Backlog, run.Sent)), run.ProcessCPUPer, db)
		}
	}
	for _, run := range r.Runs {
		if run.InsertToDispatch == nil {
			continue
		}
		if run.OfferedRate > 0 {
			fmt.Fprintf(w, "\nlatency at %s commands/s offered (ms):\n", thousands(int64(run.OfferedRate)))
		} else {
			fmt.Fprintf(w, "\nlatency while streaming as fast as answers come back (ms):\n")
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "\tp50\tp90\tp99\tmax\tsamples\t")
		for _, l := range []struct {
			name string
			s    *latencySummary
		}{{"insert → dispatch", run.InsertToDispatch}, {"insert → reply", run.InsertToReply}} {
			fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%.2f\t%.2f\t%s\t\n", l.name, l.s.P50, l.s.P90, l.s.P99, l.s.Max, thousands(l.s.Count))
		}
		tw.Flush()
	}
}

// plural is "1 agent", "2 agents".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// percent is a share as "62%", or "0.4%" below 10% (a one-agent run against
// the floor read "0%").
func percent(f float64) string {
	if f < 0.1 {
		return fmt.Sprintf("%.1f%%", f*100)
	}
	return fmt.Sprintf("%.0f%%", f*100)
}
