package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	spool "github.com/ctirelay/ctirelay/bridges/file"
)

// fileSpoolRow is the file bridge in `ctirelay status`: the summary the
// serving relay saves in relay_cursor every second (the counters live in
// its memory; status is another process).
type fileSpoolRow struct {
	SavedAt        string          `json:"saved_at,omitempty"`
	SavedAgeS      float64         `json:"saved_age_s"`
	FilesTaken     int64           `json:"files_taken"`
	FilesRefused   int64           `json:"files_refused"`
	FilesPurged    int64           `json:"files_purged"`
	FilesIgnored   int64           `json:"files_ignored"`
	AnswersWritten int64           `json:"answers_written"`
	FramesWritten  int64           `json:"frames_written"`
	RenameRetries  int64           `json:"rename_retries"`
	RenameFailures int64           `json:"rename_failures"`
	Users          []fileSpoolUser `json:"users"`

	savedAge time.Duration
}

// fileSpoolUser is a user whose answer is not yet renamed into Rx.
type fileSpoolUser struct {
	User string `json:"user"`
	// OldestS: age of its oldest answer waiting (SIGACTI has not read the
	// last <user>.CTI, or the rename keeps failing).
	OldestS float64 `json:"oldest_waiting_s"`
	// Stuck: rename_attempts ran out and no rename has worked since.
	Stuck            bool    `json:"stuck"`
	StuckForS        float64 `json:"stuck_stuckFors,omitempty"`
	oldest, stuckFor time.Duration
}

// readFileSpool is nil when the file bridge is not configured and has never
// saved a summary in this database.
func readFileSpool(ctx context.Context, cfg Config, db database, now time.Time) (*fileSpoolRow, error) {
	s, err := spool.ReadSummary(ctx, db)
	if err != nil {
		return nil, err
	}
	if !s.Saved && cfg.Bridges.File.TxDir == "" {
		return nil, nil
	}
	r := &fileSpoolRow{FilesTaken: s.FilesTaken, FilesRefused: s.FilesRefused, FilesPurged: s.FilesPurged,
		FilesIgnored: s.FilesIgnored, AnswersWritten: s.AnswersWritten, FramesWritten: s.FramesWritten,
		RenameRetries: s.RenameRetries, RenameFailures: s.RenameFailures, Users: []fileSpoolUser{}, savedAge: -1}
	if s.Saved {
		r.savedAge = max(now.Sub(s.SavedAt), 0)
		r.SavedAt = s.SavedAt.UTC().Format(time.RFC3339Nano)
		r.SavedAgeS = r.savedAge.Round(time.Millisecond).Seconds()
	}
	for _, u := range s.Users {
		row := fileSpoolUser{User: u.User, Stuck: !u.StuckSince.IsZero()}
		if !u.WaitingSince.IsZero() {
			row.oldest = max(now.Sub(u.WaitingSince), 0)
			row.OldestS = row.oldest.Round(time.Millisecond).Seconds()
		}
		if row.Stuck {
			row.stuckFor = max(now.Sub(u.StuckSince), 0)
			row.StuckForS = row.stuckFor.Round(time.Millisecond).Seconds()
		}
		r.Users = append(r.Users, row)
	}
	return r, nil
}

func printFileSpool(w io.Writer, r *fileSpoolRow) error {
	if r == nil {
		return nil
	}
	fmt.Fprintln(w)
	saved := "never saved (no relay has served the spool yet)"
	if r.savedAge >= 0 {
		saved = "saved " + r.savedAge.Round(time.Second).String() + " ago"
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "file spool\t%s\n", saved)
	fmt.Fprintf(tw, "files taken\t%d\t(refused %d, purged at start %d, names ignored %d)\n", r.FilesTaken, r.FilesRefused, r.FilesPurged, r.FilesIgnored)
	fmt.Fprintf(tw, "answers written\t%d\t(%d frames)\n", r.AnswersWritten, r.FramesWritten)
	fmt.Fprintf(tw, "rename retries\t%d\t(attempts ran out %d times)\n", r.RenameRetries, r.RenameFailures)
	stuck := 0
	for _, u := range r.Users {
		if u.Stuck {
			stuck++
		}
	}
	fmt.Fprintf(tw, "users waiting\t%d\t(stuck %d)\n", len(r.Users), stuck)
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Users) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "USER\tOLDEST ANSWER WAITING\tSTUCK")
	for _, u := range r.Users {
		st := "-"
		if u.Stuck {
			st = "yes, rename attempts ran out " + u.stuckFor.Round(time.Second).String() + " ago"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", cell(u.User), u.oldest.Round(time.Millisecond), st)
	}
	return tw.Flush()
}
