package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ctirelay/ctirelay/relay"
)

// jobsOptions are the flags of the jobs subcommands.
type jobsOptions struct {
	common   commonFlags
	asJSON   bool
	from, to string
}

// newJobsCmd lists the scheduled jobs or runs one by hand.
func newJobsCmd(env *cli) *cobra.Command {
	c := &cobra.Command{
		Use:   "jobs",
		Short: "list the scheduled jobs (next, last run, leader) or run one now",
		Long: `The scheduled jobs (retention, reconcile, dead-retry, agent-sync) run on the
relay that holds the scheduler lock, the leader. List them with their next and
last runs, or run one now under the leader's rules (see docs/jobs.md).`,
	}
	var lo, ro jobsOptions
	list := &cobra.Command{
		Use:   "list",
		Short: "every job: schedule, zone, next slot, last run, and the leader",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return jobsCmd(cmd.Context(), env, "list", "", &lo)
		},
	}
	lo.common.register(list.Flags())
	list.Flags().BoolVar(&lo.asJSON, "json", false, "print JSON")
	run := &cobra.Command{
		Use:   "run NAME",
		Short: "run a job now, refused while a run of it is running anywhere",
		Long: `Run a job now in this process, under the rules the leader follows: its row in
relay_job_run is recorded first (a manual run, which takes no slot of the
schedule), and it is refused while a run of the job is running anywhere.
--from and --to (RFC 3339, or a date at midnight in the job's zone) give
reconcile its period. Exit status 1 unless the run ended ok.`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("name one job: %s", strings.Join([]string{jobRetention, jobReconcile, jobDeadRetry, jobAgentSync}, ", "))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return jobsCmd(cmd.Context(), env, "run", args[0], &ro)
		},
	}
	ro.common.register(run.Flags())
	run.Flags().BoolVar(&ro.asJSON, "json", false, "print the run as JSON")
	run.Flags().StringVar(&ro.from, "from", "", "start of the period (RFC 3339, or a date in the job's zone)")
	run.Flags().StringVar(&ro.to, "to", "", "end of the period, exclusive")
	c.AddCommand(list, run)
	return c
}

func jobsCmd(ctx context.Context, env *cli, verb, name string, o *jobsOptions) error {
	cfg, db, err := o.common.open(ctx, env)
	if err != nil {
		return err
	}
	defer db.Close()
	log := newLogger(cfg.Log, env.stderr)
	jobs, err := cfg.scheduledJobs(db, relay.SystemClock{}, log)
	if err != nil {
		return err
	}
	if verb == "list" {
		return listJobs(ctx, env, cfg, db, jobs, o.asJSON)
	}
	i := slices.IndexFunc(jobs, func(j relay.ScheduledJob) bool { return j.Name == name })
	if i < 0 {
		return usagef("no job %q (jobs: %s)", name, strings.Join(jobNames(jobs), ", "))
	}
	return runJob(ctx, env, cfg, db, jobs[i], o.from, o.to, o.asJSON, log)
}

func jobNames(jobs []relay.ScheduledJob) []string {
	names := make([]string, len(jobs))
	for i, j := range jobs {
		names[i] = j.Name
	}
	return names
}

// jobRow is one job in `jobs list`.
type jobRow struct {
	Job       string  `json:"job"`
	Enabled   bool    `json:"enabled"`
	Schedule  string  `json:"schedule"`
	Timezone  string  `json:"timezone"`
	Next      string  `json:"next,omitempty"` // enabled jobs only
	LastSlot  string  `json:"last_slot,omitempty"`
	LastState string  `json:"last_status,omitempty"`
	LastNode  string  `json:"last_node,omitempty"`
	LastTookS float64 `json:"last_duration_s,omitempty"`
}

func listJobs(ctx context.Context, env *cli, cfg Config, db database, jobs []relay.ScheduledJob, asJSON bool) error {
	now := time.Now()
	nodes, err := db.Nodes(ctx)
	if err != nil {
		return fmt.Errorf("read relays: %w", err)
	}
	leader := ""
	for _, r := range relayRows(nodes, now, staleAfter(cfg)) {
		if r.Leader {
			leader = r.ID
		}
	}
	rows := make([]jobRow, 0, len(jobs))
	for _, j := range jobs {
		zone := j.Schedule.Location().String()
		if j.Schedule.Location() == time.Local {
			zone = "host (" + now.Format("MST") + ")"
		}
		r := jobRow{Job: j.Name, Enabled: j.Enabled, Schedule: j.Schedule.String(), Timezone: zone}
		if j.Enabled {
			r.Next = j.Schedule.Next(now).In(j.Schedule.Location()).Format(time.RFC3339)
		}
		runs, err := db.JobRuns(ctx, j.Name, 1)
		if err != nil {
			return fmt.Errorf("read job runs: %w", err)
		}
		if len(runs) > 0 {
			last := runs[0]
			r.LastSlot, r.LastState, r.LastNode = last.Slot.In(j.Schedule.Location()).Format(time.RFC3339), last.Status, last.Node
			r.LastTookS = last.Duration().Round(time.Millisecond).Seconds()
			if last.Manual {
				r.LastState += " (manual)"
			}
		}
		rows = append(rows, r)
	}
	if asJSON {
		enc := jsonOut(env.stdout, true)
		return enc.Encode(map[string]any{"leader": leader, "jobs": rows})
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "leader\t%s\n\n", orDefault(leader, "none (no relay holds the scheduler lock)"))
	fmt.Fprintln(tw, "JOB\tENABLED\tSCHEDULE\tZONE\tNEXT\tLAST SLOT\tSTATUS\tTOOK\tNODE")
	for _, r := range rows {
		took := "-"
		if r.LastState != "" {
			took = fmt.Sprintf("%.3fs", r.LastTookS)
		}
		fmt.Fprintf(tw, "%s\t%v\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Job, r.Enabled, r.Schedule, r.Timezone,
			orDefault(r.Next, "-"), orDefault(r.LastSlot, "-"), orDefault(r.LastState, "-"), took, orDefault(r.LastNode, "-"))
	}
	return tw.Flush()
}

// parsePeriodEnd reads RFC 3339 or a date (midnight in loc).
func parsePeriodEnd(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, loc); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is neither RFC 3339 (2026-12-01T08:00:00Z) nor a date (2026-12-01, midnight in the job's zone, %s)", s, loc)
}

// runJob runs one job now, by hand, under the rules the leader follows: its
// row is recorded first (a manual run, which takes no slot of the
// schedule) and refused while a run of the job is running anywhere.
func runJob(ctx context.Context, env *cli, cfg Config, db database, job relay.ScheduledJob, fromS, toS string, asJSON bool, log *slog.Logger) error {
	loc := job.Schedule.Location()
	info := relay.RunInfo{Job: job.Name, Manual: true, Location: loc}
	var err error
	if (fromS == "") != (toS == "") {
		return usagef("give both --from and --to, or neither")
	}
	if fromS != "" && job.Name != jobReconcile {
		return usagef("--from and --to give reconcile its period; %s has none", job.Name)
	}
	if fromS != "" {
		if info.From, err = parsePeriodEnd(fromS, loc); err != nil {
			return fmt.Errorf("--from: %w", err)
		}
		if info.To, err = parsePeriodEnd(toS, loc); err != nil {
			return fmt.Errorf("--to: %w", err)
		}
		if !info.To.After(info.From) {
			return errors.New("--to must be after --from")
		}
	}
	host, _ := os.Hostname()
	owner := relay.LeaseOwner(fmt.Sprintf("cli-%s-%d", host, os.Getpid()), relay.NewIncarnation())
	runner := relay.Runner{Store: db, Owner: owner, Logger: log, Beat: time.Duration(cfg.Scheduler.RunBeat)}
	run, err := runner.Begin(ctx, job.Name, time.Now().UTC().Truncate(time.Microsecond), true)
	if errors.Is(err, relay.ErrJobRunning) {
		return fmt.Errorf("job %s is running now (see ctirelay jobs list); runs of one job never overlap", job.Name)
	}
	if err != nil {
		return fmt.Errorf("record the run: %w", err)
	}
	info.Slot = run.Slot
	if !asJSON {
		info.Progress = progressBar(env, job.Name)
	}
	done := runner.Execute(ctx, run, job.Run, info)
	if asJSON {
		var summary any
		_ = json.Unmarshal([]byte(done.Summary), &summary)
		enc := jsonOut(env.stdout, true)
		if err := enc.Encode(map[string]any{"job": done.Job, "run": done.ID, "status": done.Status,
			"duration_s": done.Duration().Seconds(), "node": done.Node, "summary": summary}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(env.stdout, "%s run %d: %s in %s\n%s\n", done.Job, done.ID, done.Status, done.Duration().Round(time.Millisecond), done.Summary)
	}
	if done.Status != relay.RunOK {
		return fmt.Errorf("job %s: %s", done.Job, done.Status)
	}
	return nil
}

// progressBar draws a bar on stderr when it is a terminal (nil otherwise),
// for jobs that report how far they are (reconcile over a long range).
func progressBar(env *cli, name string) func(done, total int64) {
	f, ok := env.stderr.(*os.File)
	if !ok {
		return nil
	}
	if st, err := f.Stat(); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	last := -1
	return func(done, total int64) {
		pct := int(done * 100 / max(total, 1))
		if pct == last {
			return
		}
		last = pct
		const width = 30
		bar := strings.Repeat("=", pct*width/100) + strings.Repeat(" ", width-pct*width/100)
		fmt.Fprintf(f, "\r%s [%s] %3d%%", name, bar, pct)
		if pct == 100 {
			fmt.Fprintln(f)
		}
	}
}
