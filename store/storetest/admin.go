package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

func init() {
	register("PublishEventsToTtoAndJournal", publish)
	register("RetryDeadRequeuesAtTheTail", retryDead)
	register("DropDead", dropDead)
	register("JournalAndDeadLettersPage", paging)
	register("StatusAndAgentsFromViews", status)
	register("AgentsWithoutRecentActivity", agentsQuiet)
}

func publish(t *testing.T, e *env) {
	ctx := context.Background()
	active := relay.ActiveCall{Login: "ana", ID: "15068", OriginDDD: "0", Origin: "9988", DestDDD: "0", Dest: "7017", ExternalID: "dialer.ExternalID=15068;"}.Frame()
	events := []relay.Frame{relay.EndCall("jose"), relay.Recording("ana", `c:\records\2015\1\16\7016-20150116-163837-P2C05-Station.wav`), active}
	if err := e.Store.Publish(ctx, events, t0); err != nil {
		t.Fatal(err)
	}
	want := []string{"<jose><EndCall>$", `<ana><G><c:\records\2015\1\16\7016-20150116-163837-P2C05-Station.wav>$`, "<ana><A><15068><0><9988><0><7017><><><dialer.ExternalID=15068;>$"}
	equal(t, "T_TTO", e.tto(t), want)

	// the ERP reads and deletes what it has processed; publishing goes on
	e.Tables.DeleteTTO(t, e.Tables.TTO(t)[0].ID)
	if err := e.Store.Publish(ctx, []relay.Frame{relay.EndCall("ana")}, at(time.Second)); err != nil {
		t.Fatal(err)
	}
	equal(t, "T_TTO after the ERP deleted one", e.tto(t), append(want[1:], "<ana><EndCall>$"))
	equal(t, "journal", e.journal(t), []relay.JournalEntry{
		eventEntry(t0, events[0]), eventEntry(t0, events[1]), eventEntry(t0, events[2]),
		eventEntry(at(time.Second), relay.EndCall("ana")),
	})
}

func retryDead(t *testing.T, e *env) {
	ctx := context.Background()
	e.insertTTI(t, "<jose><XYZ>$") // refused at intake: no verb, cannot be retried
	e.intake(t, 10, t0)
	ids := e.cli(t, t0, "<jose><L><ON>$", "<ana><S>$")
	jobs := e.claim(t, "r1", 1, t0, at(time.Minute))
	e.settle(t, at(time.Second), relay.Outcome{Job: jobs[0], Kind: relay.Dead, Reason: "retries exhausted",
		Replies: []relay.Frame{relay.ErrReply("jose", relay.CodeRetriesExhausted, "switch unreachable")}})
	later := e.cli(t, at(2*time.Second), "<jose><S>$")

	dead := e.dead(t)
	if len(dead) != 2 || dead[0].Verb != "" || dead[1].InboxID != ids[0] {
		t.Fatalf("relay_dead: %s", show(dead))
	}
	// What operators see: the code answered, and the verb only for commands
	// (a message refused at intake has none and cannot be retried).
	letters, err := e.Store.DeadLetters(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "DeadLetters", letters, []relay.DeadLetter{
		{ID: dead[0].ID, Source: "erp", Ref: dead[0].Ref, Agent: "jose", Frame: "<jose><XYZ>$",
			Code: relay.CodeUnknownVerb, Reason: `UNKNOWN_VERB: unknown verb "XYZ"`, EnqueuedAt: t0, DiedAt: t0},
		{ID: dead[1].ID, InboxID: ids[0], Source: "cli", Ref: "cli-1", Agent: "jose", Verb: relay.VerbLogon, Frame: "<jose><L><ON>$",
			Code: relay.CodeRetriesExhausted, Reason: "retries exhausted", Attempts: 1, EnqueuedAt: t0, DiedAt: at(time.Second)},
	})
	n, err := e.Store.RetryDead(ctx, []int64{dead[0].ID, dead[1].ID, dead[1].ID + 1000}, at(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("RetryDead = %d, want 1", n)
	}
	equal(t, "relay_dead after retry", e.dead(t), dead[:1])
	rows := e.inbox(t)
	if len(rows) != 3 || rows[2].ID <= later[0] {
		t.Fatalf("retried command not at the tail: %+v", rows)
	}
	equal(t, "retried row", rows[2], InboxRow{ID: rows[2].ID, Source: "cli", Ref: "cli-1", Agent: "jose", Verb: "L", Frame: "<jose><L><ON>$",
		State: "ready", EnqueuedAt: us(at(time.Hour))})
	// jose's later command now runs first: the retried one waits behind it
	equal(t, "claim", e.claim(t, "r1", 10, at(time.Hour), at(2*time.Hour)), []relay.Job{
		job(ids[1], "cli", "cli-2", "ana", relay.VerbStatus, "<ana><S>$", 1, t0, "r1"),
		job(later[0], "cli", "cli-1", "jose", relay.VerbStatus, "<jose><S>$", 1, at(2*time.Second), "r1"),
	})
	if n, err := e.Store.RetryDead(ctx, nil, t0); err != nil || n != 0 {
		t.Fatalf("RetryDead(nil) = %d, %v", n, err)
	}
}

func dropDead(t *testing.T, e *env) {
	ctx := context.Background()
	e.insertTTI(t, "<a><XYZ>$", "<b><XYZ>$", "<c><XYZ>$")
	e.intake(t, 10, t0)
	dead := e.dead(t)
	n, err := e.Store.DropDead(ctx, []int64{dead[0].ID, dead[2].ID, dead[2].ID + 1000})
	if err != nil || n != 2 {
		t.Fatalf("DropDead = %d, %v; want 2", n, err)
	}
	equal(t, "relay_dead", e.dead(t), dead[1:2])
	if n, err := e.Store.DropDead(ctx, nil); err != nil || n != 0 {
		t.Fatalf("DropDead(nil) = %d, %v", n, err)
	}
}

func paging(t *testing.T, e *env) {
	ctx := context.Background()
	var events []relay.Frame
	for _, a := range []string{"a", "b", "c", "d", "e"} {
		events = append(events, relay.EndCall(a))
	}
	if err := e.Store.Publish(ctx, events, t0); err != nil {
		t.Fatal(err)
	}
	all, err := e.Store.Journal(ctx, 0, 100)
	if err != nil || len(all) != 5 {
		t.Fatalf("Journal: %d entries, %v", len(all), err)
	}
	page, err := e.Store.Journal(ctx, 0, 2)
	if err != nil || len(page) != 2 || page[0].ID != all[0].ID || page[1].ID != all[1].ID {
		t.Fatalf("first page %+v, %v", page, err)
	}
	page, err = e.Store.Journal(ctx, all[1].ID, 10)
	if err != nil || len(page) != 3 || page[0].ID != all[2].ID || page[0].Agent != "c" {
		t.Fatalf("second page %+v, %v", page, err)
	}
	page, err = e.Store.Journal(ctx, all[4].ID, 10)
	if err != nil || len(page) != 0 {
		t.Fatalf("after the end %+v, %v", page, err)
	}

	e.insertTTI(t, "<a><X>$", "<b><X>$", "<c><X>$")
	e.intake(t, 10, t0)
	letters, err := e.Store.DeadLetters(ctx, 0, 2)
	if err != nil || len(letters) != 2 || letters[0].Agent != "a" || letters[1].Agent != "b" {
		t.Fatalf("dead letters %+v, %v", letters, err)
	}
	rest, err := e.Store.DeadLetters(ctx, letters[1].ID, 2)
	if err != nil || len(rest) != 1 || rest[0].Agent != "c" || rest[0].Reason != `UNKNOWN_VERB: unknown verb "X"` ||
		rest[0].Code != relay.CodeUnknownVerb || rest[0].Verb != "" {
		t.Fatalf("dead letters after %d: %+v, %v", letters[1].ID, rest, err)
	}
}

// The views age things against the database clock, so this case uses the
// real time and allows for the seconds the test itself takes.
func status(t *testing.T, e *env) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)

	empty, err := e.Store.Status(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "Status of an empty store", empty, relay.QueueStatus{})
	if none, err := e.Store.Agents(ctx, now); err != nil || len(none) != 0 {
		t.Fatalf("Agents of an empty store: %+v, %v", none, err)
	}

	// long ago: not listed; two hours ago: listed, not in done_1m
	ancient := e.cli(t, now.Add(-48*time.Hour), "<ancient><S>$")
	old := e.cli(t, now.Add(-2*time.Hour), "<old><S>$")
	jobs := e.claim(t, "r0", 10, now, now.Add(time.Minute))
	if len(jobs) != 2 || jobs[0].ID != ancient[0] || jobs[1].ID != old[0] {
		t.Fatalf("claimed %+v", jobs)
	}
	e.settle(t, now.Add(-48*time.Hour), relay.Outcome{Job: jobs[0], Kind: relay.Done, Replies: []relay.Frame{relay.OK("ancient")}})
	e.settle(t, now.Add(-2*time.Hour), relay.Outcome{Job: jobs[1], Kind: relay.Done, Replies: []relay.Frame{relay.OK("old")}})

	e.cli(t, now.Add(-90*time.Second), "<jose><L><ON>$", "<jose><S>$", "<ana><S>$", "<bia><S>$", "<cid><S>$")
	jobs = e.claim(t, "r1", 10, now, now.Add(time.Minute))
	if len(jobs) != 4 {
		t.Fatalf("claimed %+v", jobs)
	}
	e.settle(t, now,
		relay.Outcome{Job: jobs[0], Kind: relay.Done, Replies: []relay.Frame{relay.OK("jose")}},
		relay.Outcome{Job: jobs[1], Kind: relay.Retry, Reason: "timeout", NotBefore: now.Add(time.Minute)},
		relay.Outcome{Job: jobs[3], Kind: relay.Dead, Reason: "rejected", Replies: []relay.Frame{relay.ErrReply("cid", relay.CodeRejected, "no")}},
	)
	e.insertTTI(t, "<x><S>$", "<y><S>$")
	if err := e.Store.Publish(ctx, []relay.Frame{relay.EndCall("bia"), relay.EndCall("zed")}, now); err != nil {
		t.Fatal(err)
	}

	st, err := e.Store.Status(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	age := st.OldestAge
	st.OldestAge = 0
	equal(t, "Status", st, relay.QueueStatus{Pending: 2, Inbox: 3, Ready: 2, InFlight: 1, Retrying: 1, Dead: 1, Outbox: 2, Done1m: 2})
	if age < 89*time.Second || age > 90*time.Second+10*time.Minute {
		t.Fatalf("OldestAge = %v, want about 90s", age)
	}

	agents, err := e.Store.Agents(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		agent             string
		pending, inFlight int64
		last              time.Time
	}
	want := []row{
		{"ana", 1, 0, now.Add(-90 * time.Second)},
		{"bia", 0, 1, now},
		{"cid", 0, 0, now},
		{"jose", 1, 0, now},
		{"old", 0, 0, now.Add(-2 * time.Hour)},
		{"zed", 0, 0, now},
	}
	if len(agents) != len(want) {
		t.Fatalf("Agents: %s", show(agents))
	}
	for i, w := range want {
		a := agents[i]
		// views may show times to the millisecond
		last := a.LastActivity.UTC()
		if a.Agent != w.agent || a.Pending != w.pending || a.InFlight != w.inFlight || last.Before(w.last.Truncate(time.Millisecond)) || last.After(w.last) {
			t.Errorf("agent %d = %+v, want %+v", i, a, w)
		}
	}
}

// An agent whose last journal entry is older than a day shows its oldest
// waiting command's time; a message refused without an agent lists none.
func agentsQuiet(t *testing.T, e *env) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	e.cli(t, now.Add(-49*time.Hour), "<quiet><S>$")
	e.cli(t, now.Add(-48*time.Hour), "<quiet><L><ON>$")
	if got := e.enqueue(t, now, relay.Inbound{Source: relay.SourceCLI, Ref: "x", Raw: "<><S>$"}); got[0].Err == nil {
		t.Fatalf("a frame without an agent was accepted: %+v", got)
	}
	agents, err := e.Store.Agents(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(agents) != 1 {
		t.Fatalf("Agents: %s", show(agents))
	}
	a := agents[0]
	want := now.Add(-49 * time.Hour)
	if last := a.LastActivity.UTC(); a.Agent != "quiet" || a.Pending != 2 || a.InFlight != 0 || last.Before(want.Truncate(time.Millisecond)) || last.After(want) {
		t.Fatalf("Agents = %+v, want quiet with 2 pending, last activity %v", a, want)
	}
}
