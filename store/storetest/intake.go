package storetest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

func init() {
	register("IntakeTakesRowsInIsTtiOrder", intakeOrder)
	register("IntakeGeneratedIDs", intakeGeneratedIDs)
	register("IntakeRejectsBadRowsAndKeepsMoving", intakeRejects)
	register("IntakeLargeBatch", intakeLargeBatch)
	register("IntakeKeepsTextExactly", intakeKeepsText)
	register("ConcurrentIntakesKeepIsTtiOrder", concurrentIntakes)
	register("EnqueueOtherSources", enqueueOtherSources)
}

// The ERP supplies its own IS_TTI positionally; processing follows IS_TTI,
// not insertion order, and rows leave T_TTI only as they enter the inbox.
func intakeOrder(t *testing.T, e *env) {
	e.Tables.InsertTTI(t, Row{30, "<ana><S>$"})
	e.Tables.InsertTTI(t, Row{10, "<jose><l><on>$"})
	e.Tables.InsertTTI(t, Row{20, "<jose><P><ON><1>$"})

	if n := e.intake(t, 2, t0); n != 2 {
		t.Fatalf("Intake took %d rows, want 2", n)
	}
	equal(t, "T_TTI after taking 2", e.tti(t), []string{"<ana><S>$"})
	rows := e.inbox(t)
	if len(rows) != 2 || rows[0].ID >= rows[1].ID {
		t.Fatalf("inbox ids %+v", rows)
	}
	equal(t, "inbox", rows, []InboxRow{
		{ID: rows[0].ID, Source: "erp", Ref: "10", Agent: "jose", Verb: "L", Frame: "<jose><l><on>$", State: "ready", EnqueuedAt: us(t0)},
		{ID: rows[1].ID, Source: "erp", Ref: "20", Agent: "jose", Verb: "P", Frame: "<jose><P><ON><1>$", State: "ready", EnqueuedAt: us(t0)},
	})

	if n := e.intake(t, 10, at(time.Second)); n != 1 {
		t.Fatalf("second Intake took %d rows, want 1", n)
	}
	if n := e.intake(t, 10, at(2*time.Second)); n != 0 {
		t.Fatalf("Intake of an empty T_TTI took %d rows", n)
	}
	equal(t, "T_TTI", e.tti(t), []string(nil))
	all := e.inbox(t)
	if len(all) != 3 || all[2].ID <= all[1].ID || all[2].Ref != "30" || all[2].EnqueuedAt != us(at(time.Second)) {
		t.Fatalf("inbox after second intake: %+v", all)
	}
	equal(t, "journal", e.journal(t), []relay.JournalEntry{
		cmdEntry(t0, "jose", "<jose><l><on>$", "erp", "10", rows[0].ID),
		cmdEntry(t0, "jose", "<jose><P><ON><1>$", "erp", "20", rows[1].ID),
		cmdEntry(at(time.Second), "ana", "<ana><S>$", "erp", "30", all[2].ID),
	})
	equal(t, "T_TTO", e.tto(t), []string(nil))
}

// Most ERPs let the database number the rows: source_ref is that number.
func intakeGeneratedIDs(t *testing.T, e *env) {
	ids := e.insertTTI(t, "<jose><L><ON>$", "<maria><L><ON>$", "<jose><S>$")
	if n := e.intake(t, 100, t0); n != 3 {
		t.Fatalf("Intake took %d rows, want 3", n)
	}
	rows := e.inbox(t)
	if len(rows) != 3 {
		t.Fatalf("inbox: %+v", rows)
	}
	for i, r := range rows {
		if r.Ref != strconv.FormatInt(ids[i], 10) {
			t.Errorf("inbox row %d has source_ref %q, want IS_TTI %d", i, r.Ref, ids[i])
		}
		if i > 0 && r.ID <= rows[i-1].ID {
			t.Errorf("inbox ids not increasing in IS_TTI order: %d after %d", r.ID, rows[i-1].ID)
		}
	}
	equal(t, "agents", []string{rows[0].Agent, rows[1].Agent, rows[2].Agent}, []string{"jose", "maria", "jose"})
	equal(t, "T_TTI", e.tti(t), []string(nil))
}

// A bad row is dead-lettered with its reason, answered with ERR in T_TTO when
// a login can be read, journaled, and does not stop the rows after it.
func intakeRejects(t *testing.T, e *env) {
	huge := "<pedro><A><85><" + strings.Repeat("9", 100<<10) + "><>$"
	type bad struct {
		raw, code, agent string
	}
	bads := []bad{
		{"<jose><L><ON>", relay.CodeMalformed, "jose"},
		{"<jose><XYZ>$", relay.CodeUnknownVerb, "jose"},
		{"<><S>$", relay.CodeMalformed, ""},
		{"<maria><>$", relay.CodeMalformed, "maria"},
		{"<ana><L><MAYBE>$", relay.CodeBadArgs, "ana"},
		{huge, relay.CodeTooLarge, "pedro"},
		{"hello", relay.CodeMalformed, ""},
	}
	if e.InvalidUTF8 {
		bads = append(bads, bad{"<jo\xe9><S>$", relay.CodeEncoding, "jo?"})
	}
	raws := make([]string, 0, len(bads)+1)
	for _, b := range bads {
		raws = append(raws, b.raw)
	}
	raws = append(raws, "<jose><S>$")
	ids := e.insertTTI(t, raws...)

	if n := e.intake(t, 100, t0); n != len(raws) {
		t.Fatalf("Intake took %d rows, want %d", n, len(raws))
	}
	equal(t, "T_TTI", e.tti(t), []string(nil))

	var wantDead []DeadRow
	var wantTTO []string
	var wantJournal []relay.JournalEntry
	for i, b := range bads {
		a := relay.Admit(b.raw, 0)
		if a.Err == nil || a.Err.Code != b.code || a.Agent != b.agent {
			t.Fatalf("fixture %d: Admit = %+v, want code %s agent %q", i, a, b.code, b.agent)
		}
		ref := strconv.FormatInt(ids[i], 10)
		wantDead = append(wantDead, DeadRow{Source: "erp", Ref: ref, Agent: b.agent, Frame: b.raw,
			Code: b.code, Reason: b.code + ": " + a.Err.Message, EnqueuedAt: us(t0), DiedAt: us(t0)})
		wantJournal = append(wantJournal, rejectedEntry(t0, b.agent, b.raw, "erp", ref))
		if b.agent != "" {
			reply := relay.ErrReply(b.agent, b.code, a.Err.Message).String()
			wantTTO = append(wantTTO, reply)
			wantJournal = append(wantJournal, replyEntry(t0, b.agent, reply, "erp", ref, 0, relay.OutcomeErr, 0))
		}
	}
	dead := e.dead(t)
	if len(dead) != len(wantDead) {
		t.Fatalf("relay_dead has %d rows, want %d: %s", len(dead), len(wantDead), show(dead))
	}
	for i := range dead {
		if i > 0 && dead[i].ID <= dead[i-1].ID {
			t.Fatalf("dead ids not increasing")
		}
		wantDead[i].ID = dead[i].ID
	}
	equal(t, "relay_dead", dead, wantDead)
	equal(t, "T_TTO", e.tto(t), wantTTO)
	if got := e.tto(t)[1]; got != `<jose><ERR><UNKNOWN_VERB><unknown verb "XYZ">$` {
		t.Fatalf("ERR reply = %q", got)
	}

	// the good row after the bad ones was taken and can run
	inbox := e.inbox(t)
	last := strconv.FormatInt(ids[len(ids)-1], 10)
	equal(t, "inbox", inbox, []InboxRow{{ID: inbox[0].ID, Source: "erp", Ref: last, Agent: "jose", Verb: "S", Frame: "<jose><S>$", State: "ready", EnqueuedAt: us(t0)}})
	wantJournal = append(wantJournal, cmdEntry(t0, "jose", "<jose><S>$", "erp", last, inbox[0].ID))
	equal(t, "journal", e.journal(t), wantJournal)
	jobs := e.claim(t, "r1", 10, t0, at(time.Minute))
	equal(t, "claimed", jobs, []relay.Job{job(inbox[0].ID, "erp", last, "jose", relay.VerbStatus, "<jose><S>$", 1, t0, "r1")})
}

// More rows than any one multi-row statement holds keep their order.
func intakeLargeBatch(t *testing.T, e *env) {
	const rows, agents = 1200, 40
	frames := make([]string, rows)
	for i := range frames {
		frames[i] = fmt.Sprintf("<a%02d><P><ON><%d>$", i%agents, i)
	}
	ids := e.insertTTI(t, frames...)

	if n := e.intake(t, 5000, t0); n != rows {
		t.Fatalf("Intake took %d rows, want %d", n, rows)
	}
	inbox := e.inbox(t)
	if len(inbox) != rows {
		t.Fatalf("inbox has %d rows", len(inbox))
	}
	for i, r := range inbox {
		if r.Ref != strconv.FormatInt(ids[i], 10) || (i > 0 && r.ID <= inbox[i-1].ID) {
			t.Fatalf("inbox row %d: %+v (IS_TTI %d)", i, r, ids[i])
		}
	}

	// every agent's head at once, then all of them settled in one call
	jobs := e.claim(t, "r1", 5000, t0, at(time.Minute))
	if len(jobs) != agents {
		t.Fatalf("claimed %d jobs, want one per agent (%d)", len(jobs), agents)
	}
	outcomes := make([]relay.Outcome, len(jobs))
	for i, j := range jobs {
		if j.ID != inbox[i].ID {
			t.Fatalf("job %d is inbox id %d, want %d", i, j.ID, inbox[i].ID)
		}
		outcomes[i] = relay.Outcome{Job: j, Kind: relay.Done, Replies: []relay.Frame{relay.OK(j.Agent), relay.StatusReply(j.Agent, relay.StatePaused)}}
	}
	if n := e.settle(t, at(time.Second), outcomes...); n != agents {
		t.Fatalf("Settle applied %d, want %d", n, agents)
	}
	tto := e.tto(t)
	if len(tto) != 2*agents || tto[0] != "<a00><OK>$" || tto[1] != "<a00><S><2>$" || tto[2*agents-1] != fmt.Sprintf("<a%02d><S><2>$", agents-1) {
		t.Fatalf("T_TTO: %d rows, first %q", len(tto), tto[:2])
	}
	if n := len(e.inbox(t)); n != rows-agents {
		t.Fatalf("inbox has %d rows after settling, want %d", n, rows-agents)
	}
}

// Two relays taking rows at once never let a later IS_TTI into the inbox ahead
// of an earlier one: inbox order stays IS_TTI order.
func concurrentIntakes(t *testing.T, e *env) {
	const rows, agents = 300, 5
	frames := make([]string, rows)
	for i := range frames {
		frames[i] = fmt.Sprintf("<a%d><P><ON><%d>$", i%agents, i)
	}
	ids := e.insertTTI(t, frames...)

	stores := []relay.Store{e.Store, e.Store, e.Store}
	if e.Open != nil {
		for i := 1; i < len(stores); i++ {
			stores[i] = e.Open(t)
		}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	taken := 0
	for _, s := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n, _, err := s.Intake(context.Background(), relay.IntakeRequest{Limit: 7, Now: t0}, relay.ClaimRequest{})
				if err != nil {
					t.Errorf("Intake: %v", err)
					return
				}
				mu.Lock()
				taken += n
				mu.Unlock()
				if n == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if taken != rows {
		t.Fatalf("intakes took %d rows, want %d", taken, rows)
	}
	inbox := e.inbox(t)
	if len(inbox) != rows {
		t.Fatalf("inbox has %d rows, want %d", len(inbox), rows)
	}
	for i, r := range inbox {
		if r.Ref != strconv.FormatInt(ids[i], 10) {
			t.Fatalf("inbox row %d (id %d) is IS_TTI %s, want %d: intake order broken", i, r.ID, r.Ref, ids[i])
		}
	}
}

// Bridges enqueue directly: same admission, but the ERR for a rejected
// message goes back to the bridge's client, not into T_TTO.
func enqueueOtherSources(t *testing.T, e *env) {
	got := e.enqueue(t, t0,
		relay.Inbound{Source: relay.SourceSocket, Ref: "conn-7", Raw: "<jose><S>$"},
		relay.Inbound{Source: relay.SourceSocket, Ref: "conn-7", Raw: "<pedro><BOGUS>$"},
		relay.Inbound{Source: relay.SourceHTTP, Ref: "req-1", Raw: "<ana><L><ON>$"},
	)
	if got[0].Err != nil || got[2].Err != nil || got[0].ID == 0 || got[2].ID <= got[0].ID {
		t.Fatalf("Enqueue results %+v", got)
	}
	if got[1].ID != 0 || got[1].Err == nil || got[1].Err.Code != relay.CodeUnknownVerb {
		t.Fatalf("rejected result %+v", got[1])
	}
	equal(t, "inbox", e.inbox(t), []InboxRow{
		{ID: got[0].ID, Source: "socket", Ref: "conn-7", Agent: "jose", Verb: "S", Frame: "<jose><S>$", State: "ready", EnqueuedAt: us(t0)},
		{ID: got[2].ID, Source: "http", Ref: "req-1", Agent: "ana", Verb: "L", Frame: "<ana><L><ON>$", State: "ready", EnqueuedAt: us(t0)},
	})
	reason := relay.CodeUnknownVerb + `: unknown verb "BOGUS"`
	dead := e.dead(t)
	equal(t, "relay_dead", dead, []DeadRow{{ID: dead[0].ID, Source: "socket", Ref: "conn-7", Agent: "pedro",
		Frame: "<pedro><BOGUS>$", Code: relay.CodeUnknownVerb, Reason: reason, EnqueuedAt: us(t0), DiedAt: us(t0)}})
	equal(t, "T_TTO", e.tto(t), []string(nil))
	reply := `<pedro><ERR><UNKNOWN_VERB><unknown verb "BOGUS">$`
	equal(t, "journal", e.journal(t), []relay.JournalEntry{
		cmdEntry(t0, "jose", "<jose><S>$", "socket", "conn-7", got[0].ID),
		rejectedEntry(t0, "pedro", "<pedro><BOGUS>$", "socket", "conn-7"),
		replyEntry(t0, "pedro", reply, "socket", "conn-7", 0, relay.OutcomeErr, 0),
		cmdEntry(t0, "ana", "<ana><L><ON>$", "http", "req-1", got[2].ID),
	})
}

// Whatever the ERP writes reaches the inbox, relay_dead, the journal and the
// ERR reply byte for byte: quotes, backslashes, SQL and quoting syntax,
// non-ASCII letters and control characters are text, never SQL.
func intakeKeepsText(t *testing.T, e *env) {
	raws := []string{
		"<o'brien><A><85><40050500><>$",
		`<jo\ão><S>$`,
		`<ana><A><85><'; DROP TABLE x; --><>$`,
		`<zé><A><85><$$><E'\\'>$`,
		"<maria><A><85><\"quoted\"><{a,b}>$",
		"<ana\t\r\n><S>$",
		`<o'neil><XYZ'\>$`, // unknown verb: refused with an ERR that quotes it
		`<'\><L><MAYBE'>$`,
		"ação 'sem' \\ moldura",
	}
	ids := e.insertTTI(t, raws...)
	if n := e.intake(t, 100, t0); n != len(raws) {
		t.Fatalf("Intake took %d rows, want %d", n, len(raws))
	}
	var wantInbox, gotInbox, wantDead, gotDead, wantTTO []string
	var wantJournal []relay.JournalEntry
	for i, raw := range raws {
		a := relay.Admit(raw, 0)
		ref := strconv.FormatInt(ids[i], 10)
		if a.Err == nil {
			wantInbox = append(wantInbox, ref+" "+a.Agent+" "+string(a.Verb)+" "+raw)
			continue
		}
		wantDead = append(wantDead, ref+" "+a.Agent+" "+raw+" "+a.Err.Code+": "+a.Err.Message)
		wantJournal = append(wantJournal, rejectedEntry(t0, a.Agent, raw, "erp", ref))
		if r := a.Reply(); r != nil {
			wantTTO = append(wantTTO, r.String())
			wantJournal = append(wantJournal, replyEntry(t0, a.Agent, r.String(), "erp", ref, 0, relay.OutcomeErr, 0))
		}
	}
	for _, r := range e.inbox(t) {
		gotInbox = append(gotInbox, r.Ref+" "+r.Agent+" "+r.Verb+" "+r.Frame)
	}
	for _, r := range e.dead(t) {
		gotDead = append(gotDead, r.Ref+" "+r.Agent+" "+r.Frame+" "+r.Reason)
	}
	if len(wantInbox) == 0 || len(wantDead) == 0 {
		t.Fatalf("fixtures: %d admitted, %d refused; want some of each", len(wantInbox), len(wantDead))
	}
	equal(t, "inbox", gotInbox, wantInbox)
	equal(t, "relay_dead", gotDead, wantDead)
	equal(t, "T_TTO", e.tto(t), wantTTO)
	var gotRefused []relay.JournalEntry
	for _, j := range e.journal(t) {
		if j.Kind != relay.KindCommand {
			j.ID = 0
			gotRefused = append(gotRefused, j)
		}
	}
	equal(t, "journal of the refused", gotRefused, wantJournal)
}
