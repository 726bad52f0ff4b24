package relay

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// DeadRetryJob puts back in the inbox, at the tail of their agent's queue,
// the dead letters whose reason is one of Reasons (the code before the
// colon: "retries-exhausted", "in-doubt" ...), at most Max a run. Messages
// refused at intake are never retried (they have no verb).
//
// Each letter re-enqueued is journaled as a note (What NoteDeadRetried) once
// the run's moves are done: the moves and the notes are separate
// transactions, so a relay that dies between them leaves retried letters
// without their notes (their commands are journaled all the same).
type DeadRetryJob struct {
	Name    string // the job's name, for its notes' origin ("dead-retry")
	Store   Operators
	Notes   Notebook
	Clock   Clock
	Logger  *slog.Logger
	Reasons []string
	Max     int // per run (100)
}

// retriable reports whether a dead letter's reason is one of reasons.
func retriable(reason string, reasons []string) bool {
	code, _, _ := strings.Cut(reason, ":")
	for _, r := range reasons {
		if strings.TrimSpace(code) == r {
			return true
		}
	}
	return false
}

// Run is the job's JobFunc.
func (j DeadRetryJob) Run(ctx context.Context, _ RunInfo) (map[string]any, error) {
	clock, limit, log := j.Clock, j.Max, j.Logger
	if clock == nil {
		clock = SystemClock{}
	}
	if limit <= 0 {
		limit = 100
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var ids []int64
	letters := map[int64]DeadLetter{}
	byReason := map[string]int{}
	after := int64(0)
	for len(ids) < limit {
		page, err := j.Store.DeadLetters(ctx, after, 1000)
		if err != nil {
			return nil, fmt.Errorf("read dead letters: %w", err)
		}
		for _, d := range page {
			if len(ids) < limit && d.Verb != "" && retriable(d.Reason, j.Reasons) {
				ids = append(ids, d.ID)
				letters[d.ID] = d
				code, _, _ := strings.Cut(d.Reason, ":")
				byReason[code]++
				log.Info("dead letter retried", "dead_id", d.ID, "agent", d.Agent, "verb", d.Verb, "reason", d.Reason)
			}
		}
		if len(page) < 1000 {
			break
		}
		after = page[len(page)-1].ID
	}
	summary := map[string]any{"retried": 0, "by_reason": byReason, "dead_ids": ids}
	if len(ids) == 0 {
		return summary, nil
	}
	// One letter a transaction, so the run knows which it moved: one
	// dropped or retried by hand meanwhile is not counted nor noted.
	now := clock.Now()
	var moved []int64
	var err error
	for _, id := range ids {
		var n int
		if n, err = j.Store.RetryDead(ctx, []int64{id}, now); err != nil {
			err = fmt.Errorf("retry dead letters: %w", err)
			break
		}
		if n == 1 {
			moved = append(moved, id)
		}
	}
	summary["retried"] = len(moved)
	if nerr := j.note(ctx, moved, letters, now); nerr != nil && err == nil {
		err = nerr
	}
	return summary, err
}

// note journals one note per dead letter moved back to the inbox.
func (j DeadRetryJob) note(ctx context.Context, ids []int64, letters map[int64]DeadLetter, now time.Time) error {
	if j.Notes == nil || len(ids) == 0 {
		return nil
	}
	name := j.Name
	if name == "" {
		name = "dead-retry"
	}
	notes := make([]Note, 0, len(ids))
	for _, id := range ids {
		d := letters[id]
		notes = append(notes, Note{Agent: d.Agent, Origin: JobOrigin(name), What: NoteDeadRetried,
			Text: fmt.Sprintf("dead letter %d re-enqueued at the tail of its agent's queue (it died %s: %s): %s",
				d.ID, d.DiedAt.UTC().Format(time.RFC3339), d.Reason, d.Frame)})
	}
	if err := j.Notes.Note(ctx, notes, now); err != nil {
		return fmt.Errorf("journal the retried letters: %w", err)
	}
	return nil
}
