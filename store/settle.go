package store

import (
	"database/sql"
	"fmt"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// Removed is an inbox row a Settle deleted, as the database returned it: the
// database's copy, not the caller's Job, is what the journal and relay_dead
// record.
type Removed struct {
	ID         int64
	Owner      string // lease_owner when removed
	Attempts   int
	Source     string
	Ref        string
	Agent      string
	Verb       relay.Verb
	Frame      string
	EnqueuedAt time.Time
}

// fence identifies one lease of one command: a takeover changes the owner or
// the attempt, so an outcome for an older lease never matches.
type fence struct {
	id       int64
	owner    string
	attempts int
}

// SplitOutcomes returns the indexes of the outcomes that remove their inbox
// row (Done, Dead) and of the Retry ones, keeping only the first outcome
// given for any one lease (job id, owner and attempt).
func SplitOutcomes(outcomes []relay.Outcome) (remove, retry []int) {
	seen := make(map[fence]struct{}, len(outcomes))
	for i, o := range outcomes {
		k := fence{o.Job.ID, o.Job.Owner, o.Job.Attempts}
		if _, dup := seen[k]; dup {
			continue
		}
		seen[k] = struct{}{}
		if o.Kind == relay.Retry {
			retry = append(retry, i)
		} else {
			remove = append(remove, i)
		}
	}
	return remove, retry
}

// SettleWrites are the rows settling removed commands writes.
type SettleWrites struct {
	Journal []JournalRow // every reply, in outcome order
	Outbox  []string     // the replies to commands from the ERP's table
	Dead    []DeadRow    // Dead outcomes
	Applied int          // outcomes whose row was removed
}

// PlanSettle builds the writes for the outcomes at the indexes in remove
// whose lease matches a row the database removed; fenced outcomes match
// nothing and write nothing.
func PlanSettle(outcomes []relay.Outcome, remove []int, removed []Removed, now time.Time) SettleWrites {
	byLease := make(map[fence]int, len(removed))
	for i, r := range removed {
		byLease[fence{r.ID, r.Owner, r.Attempts}] = i
	}
	var w SettleWrites
	for _, i := range remove {
		o := outcomes[i]
		k, ok := byLease[fence{o.Job.ID, o.Job.Owner, o.Job.Attempts}]
		if !ok {
			continue
		}
		r := removed[k]
		w.Applied++
		latency := now.Sub(r.EnqueuedAt)
		for _, f := range o.Replies {
			s := f.String()
			w.Journal = append(w.Journal, JournalRow{At: now, Direction: relay.DirOut, Kind: relay.KindReply,
				Agent: r.Agent, Frame: s, Origin: r.Source, Ref: r.Ref, InboxID: r.ID,
				Outcome: ReplyOutcome(f), Latency: latency, HasLatency: true})
			if r.Source == relay.SourceERP {
				w.Outbox = append(w.Outbox, s)
			}
		}
		if o.Kind == relay.Dead {
			// refused at admission: no verb, never retried
			verb := relay.DeadVerb(relay.Job{Verb: r.Verb, Frame: r.Frame})
			w.Dead = append(w.Dead, DeadRow{InboxID: r.ID, Source: r.Source, Ref: r.Ref, Agent: r.Agent, Verb: verb,
				Frame: r.Frame, Code: ErrCode(o.Replies), Reason: o.Reason, Attempts: r.Attempts,
				EnqueuedAt: r.EnqueuedAt, DiedAt: now})
		}
	}
	return w
}

// Fenced are the jobs a run of fenced deletes asks to remove, by lease, to
// read back what the DELETE returned (id, lease_owner, attempts) where a
// dialect's statement returns only the fence.
type Fenced map[fence]relay.Job

// Add asks for j's removal.
func (f Fenced) Add(j relay.Job) { f[fence{j.ID, j.Owner, j.Attempts}] = j }

// Removed reads one row the DELETE returned as the job asked for with that
// lease: the fence matched its very lease, and a row's other columns never
// change.
func (f Fenced) Removed(rs *sql.Rows) (Removed, error) {
	var k fence
	if err := rs.Scan(&k.id, &k.owner, &k.attempts); err != nil {
		return Removed{}, err
	}
	j, ok := f[k]
	if !ok {
		return Removed{}, fmt.Errorf("removed inbox row %d was not asked for", k.id)
	}
	return Removed{ID: j.ID, Owner: j.Owner, Attempts: j.Attempts, Source: j.Source, Ref: j.Ref, Agent: j.Agent,
		Verb: j.Verb, Frame: j.Frame, EnqueuedAt: j.EnqueuedAt}, nil
}
