package store

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

func TestReplyOutcomeAndErrCode(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		replies []relay.Frame
		outcome string // of the first reply
		code    string
	}{
		{[]relay.Frame{relay.OK("jose")}, relay.OutcomeOK, ""},
		{[]relay.Frame{relay.ErrReply("jose", relay.CodeInDoubt, "x")}, relay.OutcomeErr, relay.CodeInDoubt},
		{[]relay.Frame{relay.EndCall("jose"), relay.ErrReply("jose", relay.CodeRejected, "no")}, relay.OutcomeOK, relay.CodeRejected},
		{[]relay.Frame{{"jose", "err"}}, relay.OutcomeErr, ""}, // an ERR with no code field
		{nil, "", ""},
	} {
		if got := ErrCode(c.replies); got != c.code {
			t.Errorf("ErrCode(%v) = %q, want %q", c.replies, got, c.code)
		}
		if len(c.replies) > 0 {
			if got := ReplyOutcome(c.replies[0]); got != c.outcome {
				t.Errorf("ReplyOutcome(%v) = %q, want %q", c.replies[0], got, c.outcome)
			}
		}
	}
}

func TestSplitOutcomesKeepsFirstPerLease(t *testing.T) {
	t.Parallel()
	j := func(id int64, owner string, attempts int) relay.Job {
		return relay.Job{ID: id, Owner: owner, Attempts: attempts}
	}
	outcomes := []relay.Outcome{
		{Job: j(1, "a", 1), Kind: relay.Done},
		{Job: j(2, "a", 1), Kind: relay.Retry},
		{Job: j(1, "a", 1), Kind: relay.Dead}, // duplicate lease: ignored
		{Job: j(1, "b", 2), Kind: relay.Dead}, // same command, another lease: kept
		{Job: j(3, "a", 1), Kind: relay.Dead},
		{Job: j(2, "a", 1), Kind: relay.Done}, // duplicate lease: ignored
	}
	remove, retry := SplitOutcomes(outcomes)
	if !reflect.DeepEqual(remove, []int{0, 3, 4}) || !reflect.DeepEqual(retry, []int{1}) {
		t.Fatalf("remove %v retry %v", remove, retry)
	}
}

func TestPlanSettleWritesOnlyForRemovedLeases(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	now := t0.Add(250 * time.Millisecond)
	outcomes := []relay.Outcome{
		{Job: relay.Job{ID: 1, Owner: "a", Attempts: 1}, Kind: relay.Done, Replies: []relay.Frame{relay.OK("jose")}},
		{Job: relay.Job{ID: 2, Owner: "stale", Attempts: 1}, Kind: relay.Done, Replies: []relay.Frame{relay.OK("ana")}},
		{Job: relay.Job{ID: 3, Owner: "a", Attempts: 4}, Kind: relay.Dead, Reason: "retries exhausted",
			Replies: []relay.Frame{relay.ErrReply("bia", relay.CodeRetriesExhausted, "timeout")}},
	}
	removed := []Removed{
		{ID: 3, Owner: "a", Attempts: 4, Source: relay.SourceSocket, Ref: "c1", Agent: "bia", Verb: relay.VerbDial, Frame: "<bia><A><><1><>$", EnqueuedAt: t0},
		{ID: 2, Owner: "b", Attempts: 1, Source: relay.SourceERP, Ref: "8", Agent: "ana", Verb: relay.VerbStatus, Frame: "<ana><S>$", EnqueuedAt: t0},
		{ID: 1, Owner: "a", Attempts: 1, Source: relay.SourceERP, Ref: "7", Agent: "jose", Verb: relay.VerbStatus, Frame: "<jose><S>$", EnqueuedAt: t0},
	}
	w := PlanSettle(outcomes, []int{0, 1, 2}, removed, now)
	want := SettleWrites{
		Journal: []JournalRow{
			{At: now, Direction: "out", Kind: "reply", Agent: "jose", Frame: "<jose><OK>$", Origin: "erp", Ref: "7", InboxID: 1, Outcome: "ok", Latency: 250 * time.Millisecond, HasLatency: true},
			{At: now, Direction: "out", Kind: "reply", Agent: "bia", Frame: "<bia><ERR><RETRIES_EXHAUSTED><timeout>$", Origin: "socket", Ref: "c1", InboxID: 3, Outcome: "err", Latency: 250 * time.Millisecond, HasLatency: true},
		},
		Outbox: []string{"<jose><OK>$"},
		Dead: []DeadRow{{InboxID: 3, Source: "socket", Ref: "c1", Agent: "bia", Verb: relay.VerbDial, Frame: "<bia><A><><1><>$",
			Code: relay.CodeRetriesExhausted, Reason: "retries exhausted", Attempts: 4, EnqueuedAt: t0, DiedAt: now}},
		Applied: 2,
	}
	if !reflect.DeepEqual(w, want) {
		t.Fatalf("PlanSettle:\n got %+v\nwant %+v", w, want)
	}
}

func TestAdmitJournalsInMessageOrder(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	msgs := []relay.Inbound{
		{Source: relay.SourceERP, Ref: "1", Raw: "<jose><NOPE>$"},
		{Source: relay.SourceERP, Ref: "2", Raw: "<jose><S>$"},
		{Source: relay.SourceSocket, Ref: "c", Raw: "<ana><NOPE>$"},
		{Source: relay.SourceERP, Ref: "3", Raw: "garbage"},
		{Source: relay.SourceSocket, Ref: "c", Raw: "<ana><L><ON>$"},
		{Source: relay.SourceERP, Ref: "4", Raw: "<jose><XYZ>$"}, // held behind <jose><S>$
		{Source: relay.SourceCLI, Ref: "x", Raw: "<bob><Q>$"},    // held behind bob's command in the inbox
	}
	var asked []string
	a, err := Admit(msgs, now, 0, func(agents []string) (map[string]bool, error) {
		asked = append(asked, agents...)
		return map[string]bool{"bob": true}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// only agents no earlier command of the batch holds back are looked up
	if !reflect.DeepEqual(asked, []string{"jose", "ana", "bob"}) {
		t.Fatalf("asked about %q", asked)
	}
	if len(a.Inbox) != 4 || len(a.Dead) != 3 {
		t.Fatalf("inbox %+v dead %+v", a.Inbox, a.Dead)
	}
	if a.Inbox[2].Verb != relay.RefusedVerb(&relay.ProtocolError{Code: relay.CodeUnknownVerb, Message: `unknown verb "XYZ"`}) ||
		a.Inbox[3].Agent != "bob" || !a.Inbox[3].Verb.IsRefused() {
		t.Fatalf("held rows %+v", a.Inbox[2:])
	}
	// only the ERP's rejection answered now with a readable login is in T_TTO
	if !reflect.DeepEqual(a.Outbox, []string{`<jose><ERR><UNKNOWN_VERB><unknown verb "NOPE">$`}) {
		t.Fatalf("outbox %q", a.Outbox)
	}
	rows := a.Journal([]int64{10, 11, 12, 13})
	var got []string
	for _, r := range rows {
		got = append(got, fmt.Sprintf("%s/%s/%s/%s/%s/%d", r.Direction, r.Kind, r.Origin, r.Ref, r.Outcome, r.InboxID))
	}
	want := []string{"in/rejected/erp/1//0", "out/reply/erp/1/err/0", "in/command/erp/2//10", "in/rejected/socket/c//0", "out/reply/socket/c/err/0",
		"in/rejected/erp/3//0", "in/command/socket/c//11", "in/rejected/erp/4//12", "in/rejected/cli/x//13"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("journal\n got %q\nwant %q", got, want)
	}
	wantResults := []string{"0 UNKNOWN_VERB", "10 ", "0 UNKNOWN_VERB", "0 MALFORMED", "11 ", "12 ", "13 "}
	for i, r := range a.Results {
		code := ""
		if r.Err != nil {
			code = r.Err.Code
		}
		if g := fmt.Sprintf("%d %s", r.ID, code); g != wantResults[i] {
			t.Errorf("result %d = %q, want %q", i, g, wantResults[i])
		}
	}
}

func TestEscapeNonASCII(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`<jose><G><c:\rec\1.wav>$`: `<jose><G><c:\rec\1.wav>$`,
		"<ana><R><João €5>$":       `<ana><R><Jo\u{00E3}o \u{20AC}5>$`,
		"a\x00b\nc":                `a\u{0000}b\u{000A}c`,
	} {
		if got := EscapeNonASCII(in); got != want {
			t.Errorf("EscapeNonASCII(%q) = %q, want %q", in, got, want)
		}
	}
}
