package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

func init() {
	register("RefusedOutputIsDeadLetteredAlone", refusedOutput)
	register("RefusedReplyStillLeasesTheNext", refusedReplyLeases)
	register("RefusedIntakeReplyTakesTheRowsAllTheSame", refusedIntakeReply)
	register("RefusedShortReplyTooIsDeadLetteredOnly", refusedShortToo)
}

// An ERR reply whose short form (its code without the message) the ERP's
// table refuses too is dead-lettered as it is, and says nothing of an
// answer: the agent's login alone is too long for the column.
func refusedShortToo(t *testing.T, e *env) {
	e.narrowOutbound(t)
	agent := strings.Repeat("a", 45) // <a…a><ERR><REJECTED><>$ is 64 characters
	e.intakeFrames(t, t0, "<"+agent+"><S>$", "<ana><S>$")
	jobs := e.claim(t, "r1", 10, t0, at(time.Minute))
	if len(jobs) != 2 {
		t.Fatalf("claimed %+v", jobs)
	}
	long := relay.ErrReply(agent, relay.CodeRejected, "refused")
	e.settle(t, at(time.Second),
		relay.Outcome{Job: jobs[0], Kind: relay.Done, Replies: []relay.Frame{long}},
		relay.Outcome{Job: jobs[1], Kind: relay.Done, Replies: []relay.Frame{relay.OK("ana")}},
	)
	equal(t, "T_TTO", e.tto(t), []string{"<ana><OK>$"})
	dead := e.dead(t)
	if len(dead) != 1 || dead[0].Frame != long.String() || strings.Contains(dead[0].Reason, "answered") {
		t.Fatalf("relay_dead: %s", show(dead))
	}
}

// narrowOutbound makes the ERP's DS_TTO refuse values over 60 characters, as
// an ERP that created T_TTO itself with varchar(60) has it (the relay never
// alters the table; changing it after the migration is the same to the
// store). It returns a piece of the database's error for such a value.
func (e *env) narrowOutbound(t *testing.T) string {
	t.Helper()
	e.needSQL(t, "makes T_TTO narrower under the store")
	switch e.Dialect {
	case "postgres":
		e.exec(t, `ALTER TABLE {{tto}} ALTER COLUMN DS_TTO TYPE varchar(60)`)
		return "value too long for type character varying(60)"
	case "sqlserver":
		e.exec(t, `ALTER TABLE {{tto}} ALTER COLUMN DS_TTO nvarchar(60) NOT NULL`)
		return "would be truncated" // 2628 (8152 before SQL Server 2019)
	case "sqlite":
		// SQLite does not enforce varchar lengths: an ERP's trigger does.
		e.exec(t, `CREATE TRIGGER erp_narrow_tto BEFORE INSERT ON {{tto}} WHEN length(NEW.DS_TTO) > 60
			BEGIN SELECT RAISE(ABORT, 'DS_TTO holds 60 characters at most'); END`)
		return "DS_TTO holds 60 characters at most"
	}
	t.Fatalf("no narrow T_TTO for dialect %q: add one", e.Dialect)
	return ""
}

// longG is a recording event of 74 characters, as in the report that found
// the relay retrying it forever.
var longG = relay.Frame{"jose", "G", "https://recordings.example.com/2025/03/14/0000123456-00001.wav"}

// A reply or event the ERP's table refuses for its data goes to relay_dead
// with the database's error and to the journal; every other message of the
// batch is written, in order, and the command it answered is settled.
func refusedOutput(t *testing.T, e *env) {
	dbErr := e.narrowOutbound(t)
	ctx := context.Background()
	if n := len(longG.String()); n != 74 {
		t.Fatalf("the long event has %d characters", n)
	}
	ids, refs := e.intakeFrames(t, t0, "<ana><S>$", "<bob><S>$", "<cy><S>$")
	jobs := e.claim(t, "r1", 10, t0, at(time.Minute))
	if len(jobs) != 3 {
		t.Fatalf("claimed %+v", jobs)
	}
	long := relay.ErrReply("bob", relay.CodeRejected, "the switch refused the command for a reason too long to keep")
	now := at(time.Second)
	n := e.settle(t, now,
		relay.Outcome{Job: jobs[0], Kind: relay.Done, Replies: []relay.Frame{relay.OK("ana")}},
		relay.Outcome{Job: jobs[1], Kind: relay.Done, Replies: []relay.Frame{long}},
		relay.Outcome{Job: jobs[2], Kind: relay.Done, Replies: []relay.Frame{relay.OK("cy")}},
	)
	if n != 3 {
		t.Fatalf("Settle applied %d, want 3", n)
	}
	equal(t, "inbox", e.inbox(t), []InboxRow(nil))
	// The ERP is answered all the same: the ERR's code without its message.
	equal(t, "T_TTO after the settle", e.tto(t), []string{"<ana><OK>$", "<bob><ERR><REJECTED><>$", "<cy><OK>$"})

	later := at(2 * time.Second)
	events := []relay.Frame{{"ana", "EndCall"}, longG, {"cy", "EndCall"}}
	if err := e.Store.Publish(ctx, events, later); err != nil {
		t.Fatalf("Publish with a refused event: %v", err)
	}
	equal(t, "T_TTO", e.tto(t), []string{"<ana><OK>$", "<bob><ERR><REJECTED><>$", "<cy><OK>$", "<ana><EndCall>$", "<cy><EndCall>$"})

	dead := e.dead(t)
	if len(dead) != 2 {
		t.Fatalf("relay_dead: %s", show(dead))
	}
	// Journaled as what they are, with the database's error.
	refusedReply := replyEntry(now, "bob", long.String(), "erp", refs[1], ids[1], relay.OutcomeErr, time.Second)
	refusedReply.Error = dead[0].Reason
	refusedEvent := eventEntry(later, longG)
	refusedEvent.Error = dead[1].Reason
	equal(t, "journal", e.journal(t)[3:], []relay.JournalEntry{
		replyEntry(now, "ana", "<ana><OK>$", "erp", refs[0], ids[0], relay.OutcomeOK, time.Second),
		refusedReply,
		replyEntry(now, "cy", "<cy><OK>$", "erp", refs[2], ids[2], relay.OutcomeOK, time.Second),
		eventEntry(later, events[0]), refusedEvent, eventEntry(later, events[2]),
	})

	table := e.Names["tto"]
	for i, want := range []string{"reply", "event"} {
		prefix := table + " refused the " + want + ": "
		if !strings.HasPrefix(dead[i].Reason, prefix) || !strings.Contains(dead[i].Reason, dbErr) {
			t.Errorf("relay_dead[%d] reason %q, want %q and the database's %q", i, dead[i].Reason, prefix, dbErr)
		}
		if answered := strings.HasSuffix(dead[i].Reason, "; the ERP was answered <bob><ERR><REJECTED><>$ instead"); answered != (want == "reply") {
			t.Errorf("relay_dead[%d] reason %q: says the ERP was answered %v, want %v", i, dead[i].Reason, answered, want == "reply")
		}
		dead[i].Reason = ""
	}
	equal(t, "relay_dead", dead, []DeadRow{
		{ID: dead[0].ID, InboxID: ids[1], Source: relay.SourceOutput, Ref: refs[1], Agent: "bob", Frame: long.String(),
			EnqueuedAt: us(t0), DiedAt: us(now)},
		{ID: dead[1].ID, Source: relay.SourceOutput, Agent: "jose", Frame: longG.String(), EnqueuedAt: us(later), DiedAt: us(later)},
	})
	// An output is not a command: retrying it can only be refused again.
	if n, err := e.Store.RetryDead(ctx, []int64{dead[0].ID, dead[1].ID}, later); err != nil || n != 0 {
		t.Fatalf("RetryDead of refused outputs: %d, %v", n, err)
	}
	if got := len(e.dead(t)); got != 2 {
		t.Fatalf("relay_dead holds %d rows after the retry, want 2", got)
	}

	// Nothing is left half done: the next batches go through whole.
	if err := e.Store.Publish(ctx, []relay.Frame{{"bob", "EndCall"}}, later); err != nil {
		t.Fatal(err)
	}
	if got := e.tto(t); got[len(got)-1] != "<bob><EndCall>$" {
		t.Fatalf("T_TTO after: %q", got)
	}
}

// A settle leases the next commands on the isolated path too:
// the agent whose reply was refused goes on with its next command.
func refusedReplyLeases(t *testing.T, e *env) {
	e.narrowOutbound(t)
	ids, _ := e.intakeFrames(t, t0, "<bob><S>$", "<ana><S>$", "<bob><L><OFF>$")
	jobs := e.claim(t, "r1", 10, t0, at(time.Minute))
	if len(jobs) != 2 {
		t.Fatalf("claimed %+v", jobs)
	}
	long := relay.ErrReply("bob", relay.CodeRejected, "the switch refused the command for a reason too long to keep")
	now := at(time.Second)
	n, next, err := e.Store.Settle(context.Background(), []relay.Outcome{
		{Job: jobs[0], Kind: relay.Done, Replies: []relay.Frame{long}},
		{Job: jobs[1], Kind: relay.Done, Replies: []relay.Frame{relay.OK("ana")}},
	}, now, relay.ClaimRequest{Owner: "r1", Limit: 10, Now: now, LeaseUntil: at(time.Minute)})
	if err != nil || n != 2 {
		t.Fatalf("Settle: applied %d, %v", n, err)
	}
	if len(next) != 1 || next[0].ID != ids[2] || next[0].Owner != "r1" {
		t.Fatalf("leased %+v, want bob's next command %d", next, ids[2])
	}
	equal(t, "T_TTO", e.tto(t), []string{"<bob><ERR><REJECTED><>$", "<ana><OK>$"})
	if dead := e.dead(t); len(dead) != 1 || dead[0].Frame != long.String() {
		t.Fatalf("relay_dead: %s", show(dead))
	}
}

// An ERR reply to a row refused at intake that the ERP's table cannot hold
// does not keep the rows in T_TTI (every agent would wait behind them): the
// rows are taken, the reply goes to relay_dead, its code without the message
// and the other replies to T_TTO.
func refusedIntakeReply(t *testing.T, e *env) {
	dbErr := e.narrowOutbound(t)
	e.insertTTI(t, "<jose><XYZ>$", "<ana><RECORDINGSTARTANDSTOPWITHALONGVERBNAME>$", "<bob><S>$")
	if n := e.intake(t, 10, t0); n != 3 {
		t.Fatalf("Intake took %d rows, want 3", n)
	}
	equal(t, "T_TTI", e.tti(t), []string(nil))
	if rows := e.inbox(t); len(rows) != 1 || rows[0].Frame != "<bob><S>$" {
		t.Fatalf("inbox: %s", show(rows))
	}
	var short, long []string
	for _, j := range e.journal(t) {
		if j.Kind == relay.KindReply {
			if len(j.Frame) <= 60 {
				short = append(short, j.Frame)
			} else {
				long = append(long, j.Frame)
			}
		}
	}
	if len(short) != 1 || len(long) != 1 {
		t.Fatalf("want one ERR reply that fits in 60 characters and one that does not: %q, %q", short, long)
	}
	equal(t, "T_TTO", e.tto(t), append(short, "<ana><ERR><UNKNOWN_VERB><>$"))
	var refused []DeadRow
	for _, d := range e.dead(t) {
		if d.Source == relay.SourceOutput {
			refused = append(refused, d)
		}
	}
	if len(refused) != 1 || refused[0].Frame != long[0] || refused[0].Agent != "ana" || !strings.Contains(refused[0].Reason, dbErr) {
		t.Fatalf("refused outputs: %s", show(refused))
	}
	for _, j := range e.journal(t) {
		if want := map[bool]string{true: refused[0].Reason}[j.Frame == long[0]]; j.Error != want {
			t.Errorf("journal %s: error %q, want %q", j.Frame, j.Error, want)
		}
	}
}
