package relay

import (
	"context"
	"fmt"
	"time"
)

// T_TTO (IS_TTO, DS_TTO) is the ERP's table and has no time column, so the
// age of a row is known from marks the relay keeps beside it: every minute
// the leader records (now, the largest IS_TTO), when it grew since the last
// mark. A row whose id is at most a mark's was written at or before that
// mark's time, because IS_TTO only grows (identity, AUTOINCREMENT, a
// sequence). So a row is older than an age when its id is at most the
// largest id marked that long ago: it is expired a minute late at worst,
// never early. Rows written before the first mark count as written then.
// The journal is not used: it may be pruned sooner than T_TTO, and its
// frames repeat, so they cannot name a T_TTO row.

// ExpiredOutput is a T_TTO row the ERP never read, deleted by retention.
type ExpiredOutput struct {
	ID    int64  // IS_TTO
	Frame string // DS_TTO
}

// ExpireOutboxRequest asks for T_TTO rows written before Before.
type ExpireOutboxRequest struct {
	Before time.Time
	Limit  int
	Now    time.Time // the notes' time
	// Note is the journal's note for each row deleted.
	Note func(ExpiredOutput) Note
}

// OutboxExpiry is what expiring unread T_TTO rows needs of the store.
type OutboxExpiry interface {
	// MarkOutbox records (now, the largest IS_TTO) unless T_TTO is empty
	// or that id is marked already (an earlier mark of it says more).
	MarkOutbox(ctx context.Context, now time.Time) error
	// ExpireOutbox deletes, in one short transaction, at most req.Limit
	// T_TTO rows, oldest id first, whose id is at most the largest id
	// marked at or before req.Before, and journals req.Note of each in the
	// same transaction; it drops the marks older than the one it used, and
	// returns the rows deleted (none when no mark is that old). A row the
	// ERP deletes meanwhile is not returned.
	ExpireOutbox(ctx context.Context, req ExpireOutboxRequest) ([]ExpiredOutput, error)
}

// Notes' What words written by the jobs (Origin "job:<name>").
const (
	NoteTTOExpired   = "tto-expired"
	NoteDeadRetried  = "dead-retried"
	NoteStateDiffers = "state-differs"
)

// JobOrigin is the Origin of a job's notes.
func JobOrigin(job string) string { return "job:" + job }

// expiredNote is the journal's record of one expired T_TTO row: the frame
// is kept whole, so a DBA can see what the ERP never read.
func expiredNote(job string, age time.Duration) func(ExpiredOutput) Note {
	return func(o ExpiredOutput) Note {
		agent := ""
		if f, err := Parse(o.Frame); err == nil {
			agent = f.Login()
		}
		return Note{Agent: agent, Origin: JobOrigin(job), What: NoteTTOExpired,
			Text: fmt.Sprintf("IS_TTO %d unread for more than %s, deleted: %s", o.ID, age, o.Frame)}
	}
}

// MarkOutbox is the chore behind the ages: the leader calls it every
// minute while T_TTO expiry is configured.
func (j RetentionJob) MarkOutbox(ctx context.Context, now time.Time) error {
	if err := j.Store.MarkOutbox(ctx, now); err != nil {
		return fmt.Errorf("mark T_TTO: %w", err)
	}
	return nil
}

// expireOutbox deletes the T_TTO rows older than OutboxAge, batch by batch.
func (j RetentionJob) expireOutbox(ctx context.Context, now time.Time, batch int, pause func() error, summary map[string]any) error {
	before := now.Add(-j.OutboxAge)
	name := j.Name
	if name == "" {
		name = "retention"
	}
	req := ExpireOutboxRequest{Before: before, Limit: batch, Now: now, Note: expiredNote(name, j.OutboxAge)}
	total := 0
	defer func() { summary["tto_expired"] = total }()
	for {
		gone, err := j.Store.ExpireOutbox(ctx, req)
		total += len(gone)
		for _, o := range gone {
			j.log().Warn("T_TTO row never read by the ERP: expired", "is_tto", o.ID, "frame", o.Frame, "older_than", j.OutboxAge)
		}
		if err != nil {
			return fmt.Errorf("expire T_TTO: %w", err)
		}
		if len(gone) == 0 { // a store may take fewer than batch at a time
			summary["tto_before"] = before.UTC().Format(time.RFC3339)
			return nil
		}
		if err := pause(); err != nil {
			return err
		}
	}
}
