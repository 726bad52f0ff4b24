package storetest

import (
	"context"
	"database/sql"
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

func (e *env) sql(query string) string {
	q := schema.Render(query, e.Names)
	if e.Rebind != nil {
		q = e.Rebind(q)
	}
	return q
}

func (e *env) micros(col string) string {
	if e.Micros == nil {
		return col
	}
	return e.Micros(col)
}

// exec runs raw SQL as the ERP would.
func (e *env) exec(t *testing.T, query string, args ...any) {
	t.Helper()
	if _, err := e.DB.Exec(e.sql(query), args...); err != nil {
		t.Fatalf("exec %q: %v", query, err)
	}
}

// rows runs a query and hands each row to scan.
func (e *env) rows(t *testing.T, query string, scan func(*sql.Rows) error, args ...any) {
	t.Helper()
	rs, err := e.DB.Query(e.sql(query), args...)
	if err != nil {
		t.Fatalf("query %q: %v", query, err)
	}
	defer rs.Close()
	for rs.Next() {
		if err := scan(rs); err != nil {
			t.Fatalf("scan %q: %v", query, err)
		}
	}
	if err := rs.Err(); err != nil {
		t.Fatalf("query %q: %v", query, err)
	}
}

func (e *env) count(t *testing.T, query string, args ...any) int64 {
	t.Helper()
	var n int64
	e.rows(t, query, func(r *sql.Rows) error { return r.Scan(&n) }, args...)
	return n
}

// insertTTI inserts rows the way most ERPs do, letting the database number
// them, and returns the IS_TTI values given.
func (e *env) insertTTI(t *testing.T, frames ...string) []int64 {
	t.Helper()
	before := e.ttiIDs(t)
	for _, f := range frames {
		e.exec(t, `INSERT INTO {{tti}} (DS_TTI) VALUES (?)`, f)
	}
	after := e.ttiIDs(t)
	if len(after) != len(before)+len(frames) {
		t.Fatalf("T_TTI holds %d rows after inserting %d into %d", len(after), len(frames), len(before))
	}
	return after[len(before):]
}

func (e *env) ttiIDs(t *testing.T) []int64 {
	t.Helper()
	var ids []int64
	e.rows(t, `SELECT IS_TTI FROM {{tti}} ORDER BY IS_TTI`, func(r *sql.Rows) error {
		var id int64
		err := r.Scan(&id)
		ids = append(ids, id)
		return err
	})
	return ids
}

// tti returns DS_TTI in IS_TTI order.
func (e *env) tti(t *testing.T) []string {
	t.Helper()
	return e.strings(t, `SELECT DS_TTI FROM {{tti}} ORDER BY IS_TTI`)
}

// tto returns DS_TTO in IS_TTO order, as the ERP reads it.
func (e *env) tto(t *testing.T) []string {
	t.Helper()
	return e.strings(t, `SELECT DS_TTO FROM {{tto}} ORDER BY IS_TTO`)
}

func (e *env) strings(t *testing.T, query string, args ...any) []string {
	t.Helper()
	var out []string
	e.rows(t, query, func(r *sql.Rows) error {
		var s string
		err := r.Scan(&s)
		out = append(out, s)
		return err
	}, args...)
	return out
}

// inboxRow is a raw relay_inbox row; NULL reads as 0 or "".
type inboxRow struct {
	ID           int64
	Source       string
	Ref          string
	Agent        string
	Verb         string
	Frame        string
	State        string
	Attempts     int64
	NotBefore    int64 // µs
	LeaseOwner   string
	LeaseExpires int64 // µs
	EnqueuedAt   int64 // µs
	LastError    string
}

func (e *env) inbox(t *testing.T) []inboxRow {
	t.Helper()
	q := fmt.Sprintf(`SELECT id, source, source_ref, agent, verb, frame, state, attempts,
		coalesce(%s, 0), coalesce(lease_owner, ''), coalesce(%s, 0), %s, coalesce(last_error, '')
		FROM {{inbox}} ORDER BY id`, e.micros("not_before"), e.micros("lease_expires"), e.micros("enqueued_at"))
	var out []inboxRow
	e.rows(t, q, func(r *sql.Rows) error {
		var x inboxRow
		err := r.Scan(&x.ID, &x.Source, &x.Ref, &x.Agent, &x.Verb, &x.Frame, &x.State, &x.Attempts,
			&x.NotBefore, &x.LeaseOwner, &x.LeaseExpires, &x.EnqueuedAt, &x.LastError)
		out = append(out, x)
		return err
	})
	return out
}

// deadRow is a raw relay_dead row; NULL reads as 0 or "".
type deadRow struct {
	ID         int64
	InboxID    int64
	Source     string
	Ref        string
	Agent      string
	Verb       string
	Frame      string
	Code       string
	Reason     string
	Attempts   int64
	EnqueuedAt int64 // µs
	DiedAt     int64 // µs
}

func (e *env) dead(t *testing.T) []deadRow {
	t.Helper()
	q := fmt.Sprintf(`SELECT id, coalesce(inbox_id, 0), source, source_ref, agent, coalesce(verb, ''), frame,
		coalesce(code, ''), reason, attempts, %s, %s FROM {{dead}} ORDER BY id`,
		e.micros("enqueued_at"), e.micros("died_at"))
	var out []deadRow
	e.rows(t, q, func(r *sql.Rows) error {
		var x deadRow
		err := r.Scan(&x.ID, &x.InboxID, &x.Source, &x.Ref, &x.Agent, &x.Verb, &x.Frame,
			&x.Code, &x.Reason, &x.Attempts, &x.EnqueuedAt, &x.DiedAt)
		out = append(out, x)
		return err
	})
	return out
}

// Store calls that must succeed.

func (e *env) intake(t *testing.T, limit int, now time.Time) int {
	t.Helper()
	n, err := e.Store.Intake(context.Background(), relay.IntakeRequest{Limit: limit, Now: now})
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
	n, err := e.Store.Settle(context.Background(), outcomes, now)
	if err != nil {
		t.Fatalf("Settle: %v", err)
	}
	return n
}

// journal returns every journal entry, ids checked increasing and then
// zeroed so entries compare with expectations built without them.
func (e *env) journal(t *testing.T) []relay.JournalEntry {
	t.Helper()
	got, err := e.Admin.Journal(context.Background(), 0, 1_000_000)
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
