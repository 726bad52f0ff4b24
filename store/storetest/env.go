package storetest

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/schema"
)

// t0 is the suite's clock: every time a case passes to the store is derived
// from it, so expected values are exact (microsecond precision).
var t0 = time.Date(2025, 3, 14, 9, 26, 53, 589793000, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func us(t time.Time) int64 { return t.UnixMicro() }

// env wraps a harness with the helpers the cases share.
type env struct {
	Harness
}

// needSQL skips a case that only a SQL dialect can run (it changes the
// schema under the store, say); why says what it does.
func (e *env) needSQL(t *testing.T, why string) {
	t.Helper()
	if e.DB == nil {
		t.Skip("needs SQL: " + why)
	}
}

// exec runs raw SQL as a DBA would (needSQL first).
func (e *env) exec(t *testing.T, query string) {
	t.Helper()
	q := schema.Render(query, e.Names)
	if e.Rebind != nil {
		q = e.Rebind(q)
	}
	if _, err := e.DB.Exec(q); err != nil {
		t.Fatalf("exec %q: %v", query, err)
	}
}

// insertTTI inserts rows the way most ERPs do, letting the database number
// them, and returns the IS_TTI values given.
func (e *env) insertTTI(t *testing.T, frames ...string) []int64 {
	t.Helper()
	before := e.ttiIDs(t)
	rows := make([]Row, len(frames))
	for i, f := range frames {
		rows[i] = Row{Text: f}
	}
	e.Tables.InsertTTI(t, rows...)
	after := e.ttiIDs(t)
	if len(after) != len(before)+len(frames) {
		t.Fatalf("T_TTI holds %d rows after inserting %d into %d", len(after), len(frames), len(before))
	}
	return after[len(before):]
}

func (e *env) ttiIDs(t *testing.T) []int64 {
	t.Helper()
	var ids []int64
	for _, r := range e.Tables.TTI(t) {
		ids = append(ids, r.ID)
	}
	return ids
}

// tti returns DS_TTI in IS_TTI order.
func (e *env) tti(t *testing.T) []string {
	t.Helper()
	return texts(e.Tables.TTI(t))
}

// tto returns DS_TTO in IS_TTO order, as the ERP reads it.
func (e *env) tto(t *testing.T) []string {
	t.Helper()
	return texts(e.Tables.TTO(t))
}

func texts(rows []Row) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r.Text)
	}
	return out
}

func (e *env) inbox(t *testing.T) []InboxRow {
	t.Helper()
	return e.Tables.Inbox(t)
}

func (e *env) dead(t *testing.T) []DeadRow {
	t.Helper()
	return e.Tables.Dead(t)
}

// Store calls that must succeed.

func (e *env) intake(t *testing.T, limit int, now time.Time) int {
	t.Helper()
	n, _, err := e.Store.Intake(context.Background(), relay.IntakeRequest{Limit: limit, Now: now}, relay.ClaimRequest{})
	if err != nil {
		t.Fatalf("Intake: %v", err)
	}
	return n
}

func (e *env) enqueue(t *testing.T, now time.Time, msgs ...relay.Inbound) []relay.Enqueued {
	t.Helper()
	got, err := e.Store.Enqueue(context.Background(), msgs, now, 0)
	if err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	if len(got) != len(msgs) {
		t.Fatalf("Enqueue returned %d results for %d messages", len(got), len(msgs))
	}
	return got
}

// cli enqueues well-formed commands from the cli source and returns their ids.
func (e *env) cli(t *testing.T, now time.Time, frames ...string) []int64 {
	t.Helper()
	msgs := make([]relay.Inbound, len(frames))
	for i, f := range frames {
		msgs[i] = relay.Inbound{Source: relay.SourceCLI, Ref: fmt.Sprintf("cli-%d", i+1), Raw: f}
	}
	ids := make([]int64, len(frames))
	for i, r := range e.enqueue(t, now, msgs...) {
		if r.Err != nil || r.ID == 0 {
			t.Fatalf("Enqueue %q: %+v", frames[i], r)
		}
		ids[i] = r.ID
	}
	return ids
}

func claimWith(t *testing.T, s relay.Store, owner string, limit int, now, until time.Time) []relay.Job {
	t.Helper()
	jobs, err := s.Claim(context.Background(), relay.ClaimRequest{Owner: owner, Limit: limit, Now: now, LeaseUntil: until})
	if err != nil {
		t.Fatalf("Claim: %v", err)
	}
	return normJobs(jobs)
}

func (e *env) claim(t *testing.T, owner string, limit int, now, until time.Time) []relay.Job {
	t.Helper()
	return claimWith(t, e.Store, owner, limit, now, until)
}

func (e *env) reclaim(t *testing.T, owner string, limit int, now, until time.Time) []relay.Job {
	t.Helper()
	jobs, err := e.Store.Reclaim(context.Background(), relay.ClaimRequest{Owner: owner, Limit: limit, Now: now, LeaseUntil: until})
	if err != nil {
		t.Fatalf("Reclaim: %v", err)
	}
	return normJobs(jobs)
}

func (e *env) settle(t *testing.T, now time.Time, outcomes ...relay.Outcome) int {
	t.Helper()
	n, _, err := e.Store.Settle(context.Background(), outcomes, now, relay.ClaimRequest{})
	if err != nil {
		t.Fatalf("Settle: %v", err)
	}
	return n
}

// journal returns every journal entry, ids checked increasing and then
// zeroed so entries compare with expectations built without them.
func (e *env) journal(t *testing.T) []relay.JournalEntry {
	t.Helper()
	got, err := e.Store.Journal(context.Background(), 0, 1_000_000)
	if err != nil {
		t.Fatalf("Journal: %v", err)
	}
	var last int64
	for i := range got {
		if got[i].ID <= last {
			t.Fatalf("journal ids not increasing: %d after %d", got[i].ID, last)
		}
		last = got[i].ID
		got[i].ID = 0
		got[i].At = got[i].At.UTC()
	}
	return got
}

func normJobs(jobs []relay.Job) []relay.Job {
	for i := range jobs {
		jobs[i].EnqueuedAt = jobs[i].EnqueuedAt.UTC()
	}
	return jobs
}

// Expected rows.

func job(id int64, source, ref, agent string, verb relay.Verb, frame string, attempts int, enq time.Time, owner string) relay.Job {
	return relay.Job{ID: id, Source: source, Ref: ref, Agent: agent, Verb: verb, Frame: frame, Attempts: attempts, EnqueuedAt: enq, Owner: owner}
}

func cmdEntry(now time.Time, agent, frame, origin, ref string, inboxID int64) relay.JournalEntry {
	return relay.JournalEntry{At: now, Direction: relay.DirIn, Kind: relay.KindCommand, Agent: agent, Frame: frame, Origin: origin, Ref: ref, InboxID: inboxID}
}

func rejectedEntry(now time.Time, agent, frame, origin, ref string) relay.JournalEntry {
	return relay.JournalEntry{At: now, Direction: relay.DirIn, Kind: relay.KindRejected, Agent: agent, Frame: frame, Origin: origin, Ref: ref}
}

func replyEntry(now time.Time, agent, frame, origin, ref string, inboxID int64, outcome string, latency time.Duration) relay.JournalEntry {
	return relay.JournalEntry{At: now, Direction: relay.DirOut, Kind: relay.KindReply, Agent: agent, Frame: frame, Origin: origin, Ref: ref, InboxID: inboxID, Outcome: outcome, Latency: latency}
}

func eventEntry(now time.Time, frame relay.Frame) relay.JournalEntry {
	return relay.JournalEntry{At: now, Direction: relay.DirOut, Kind: relay.KindEvent, Agent: frame.Login(), Frame: frame.String(), Origin: relay.OriginSwitch}
}

// equal fails the test with both values when they differ.
func equal[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %s\nwant %s", what, show(got), show(want))
	}
}

// show prints slices one element per line so long diffs stay readable.
func show(v any) string {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice || rv.Len() == 0 {
		return fmt.Sprintf("%+v", v)
	}
	var b strings.Builder
	for i := 0; i < rv.Len(); i++ {
		s := fmt.Sprintf("%+v", rv.Index(i).Interface())
		if len(s) > 300 {
			s = s[:300] + "…"
		}
		fmt.Fprintf(&b, "\n\t[%d] %s", i, s)
	}
	return b.String()
}
