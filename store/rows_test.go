package store

import (
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
		{Source: relay.SourceERP, Ref: "1", Raw: "<jose><S>$"},
		{Source: relay.SourceERP, Ref: "2", Raw: "<jose><NOPE>$"},
		{Source: relay.SourceSocket, Ref: "c", Raw: "<ana><NOPE>$"},
		{Source: relay.SourceERP, Ref: "3", Raw: "garbage"},
		{Source: relay.SourceSocket, Ref: "c", Raw: "<ana><L><ON>$"},
	}
	a := Admit(msgs, now, 0)
	if len(a.Inbox) != 2 || len(a.Dead) != 3 {
		t.Fatalf("inbox %+v dead %+v", a.Inbox, a.Dead)
	}
	// only the ERP's rejection with a readable login is answered in T_TTO
	if !reflect.DeepEqual(a.Outbox, []string{`<jose><ERR><UNKNOWN_VERB><unknown verb "NOPE">$`}) {
		t.Fatalf("outbox %q", a.Outbox)
	}
	rows := a.Journal([]int64{10, 11})
	var got []string
	for _, r := range rows {
		got = append(got, r.Direction+"/"+r.Kind+"/"+r.Origin+"/"+r.Ref+"/"+r.Outcome)
	}
	want := []string{"in/command/erp/1/", "in/rejected/erp/2/", "out/reply/erp/2/err", "in/rejected/socket/c/", "out/reply/socket/c/err", "in/rejected/erp/3/", "in/command/socket/c/"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("journal\n got %q\nwant %q", got, want)
	}
	if rows[0].InboxID != 10 || rows[6].InboxID != 11 || a.Results[0].ID != 10 || a.Results[4].ID != 11 {
		t.Fatalf("ids: journal %d %d, results %+v", rows[0].InboxID, rows[6].InboxID, a.Results)
	}
	if a.Results[1].Err == nil || a.Results[1].Err.Code != relay.CodeUnknownVerb || a.Results[3].Err.Code != relay.CodeMalformed {
		t.Fatalf("results %+v", a.Results)
	}
}
