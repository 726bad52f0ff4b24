package sqlserver

import (
	"context"
	"errors"
	"strings"
	"testing"

	mssql "github.com/microsoft/go-mssqldb"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

// A reply T_TTO refuses for its data (2628: too long for an nvarchar(60)
// DS_TTO) is dead-lettered alone: the settle runs again writing T_TTO a row
// at a time, then once more without the refused one, which is journaled with
// the database's error and goes to relay_dead as an output; the others are
// written in order and every command is settled. The ERP is answered the
// ERR's code without its message (store.ShortReply) unless that is refused
// too.
func TestRefusedReplyIsIsolated(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name           string
		shortFits      bool
		rollbacks      int
		committed      string
		reasonAnswered bool
	}{
		{"short reply fits", true, 2, "<ana><OK>$ <bob><ERR><REJECTED><>$ <cy><OK>$", true},
		{"short reply refused too", false, 3, "<ana><OK>$ <cy><OK>$", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			refusedReplyIsolated(t, tc.shortFits, tc.rollbacks, tc.committed, tc.reasonAnswered)
		})
	}
}

func refusedReplyIsolated(t *testing.T, shortFits bool, rollbacks int, committed string, reasonAnswered bool) {
	t.Parallel()
	long := relay.ErrReply("bob", relay.CodeRejected, strings.Repeat("x", 80)).String()
	short := relay.ErrReply("bob", relay.CodeRejected, "").String()
	truncated := mssql.Error{Number: 2628, Class: 16, Message: "String or binary data would be truncated in table 'erp.dbo.T_TTO', column 'DS_TTO'."}
	var written []string
	s, f := fakeStore(t, store.Options{}, func(c call) reply {
		if c.name == string(bTTO) {
			var frames []string
			for i := 1; i < len(c.args); i += 2 {
				frames = append(frames, c.args[i].Value.(string))
			}
			for _, fr := range frames {
				if fr == long || (fr == short && !shortFits) {
					return reply{err: truncated}
				}
			}
			written = append(written, frames...)
			return reply{}
		}
		return scripted(c)
	})
	jobs := []relay.Job{
		{ID: 1, Source: "erp", Ref: "7", Agent: "ana", Verb: "S", Frame: "<ana><S>$", Attempts: 1, EnqueuedAt: t0, Owner: "r1"},
		{ID: 2, Source: "erp", Ref: "8", Agent: "bob", Verb: "S", Frame: "<bob><S>$", Attempts: 1, EnqueuedAt: t0, Owner: "r1"},
		{ID: 3, Source: "erp", Ref: "9", Agent: "cy", Verb: "S", Frame: "<cy><S>$", Attempts: 1, EnqueuedAt: t0, Owner: "r1"},
	}
	n, _, err := s.Settle(context.Background(), []relay.Outcome{
		{Job: jobs[0], Kind: relay.Done, Replies: []relay.Frame{relay.OK("ana")}},
		{Job: jobs[1], Kind: relay.Done, Replies: []relay.Frame{relay.ErrReply("bob", relay.CodeRejected, strings.Repeat("x", 80))}},
		{Job: jobs[2], Kind: relay.Done, Replies: []relay.Frame{relay.OK("cy")}},
	}, later, relay.ClaimRequest{})
	if err != nil || n != 3 {
		t.Fatalf("Settle = %d, %v", n, err)
	}
	if f.commits != 1 || f.rollbacks != rollbacks {
		t.Errorf("%d commits, %d rollbacks: want the batch, then each isolating run that was refused, rolled back (%d)", f.commits, f.rollbacks, rollbacks)
	}
	// the rolled back runs wrote "<ana><OK>$" first; the committed one all
	want := strings.Fields(committed)
	if got := strings.Join(written[len(written)-len(want):], " "); got != committed {
		t.Errorf("T_TTO in the last run: %q, want %q", got, committed)
	}
	var last []call
	for _, c := range f.Calls() {
		if c.name == string(bRemove) {
			last = nil
		}
		last = append(last, c)
	}
	var journalErr, deadSource, deadReason any
	for _, c := range last {
		switch c.name {
		case string(bJournal):
			for i := 0; i+11 < len(c.args); i += 12 {
				if c.args[i+5].Value == long {
					journalErr = c.args[i+11].Value
				}
			}
		case string(bDead):
			deadSource, deadReason = c.args[2].Value, c.args[8].Value
		}
	}
	if deadSource != vc(relay.SourceOutput) {
		t.Errorf("relay_dead source %v, want %q", deadSource, relay.SourceOutput)
	}
	reason, _ := deadReason.(string)
	if !strings.HasPrefix(reason, "T_TTO refused the reply: ") || !strings.Contains(reason, "would be truncated") || journalErr != reason {
		t.Errorf("relay_dead reason %q, journal error %v", reason, journalErr)
	}
	if answered := strings.HasSuffix(reason, "; the ERP was answered "+short+" instead"); answered != reasonAnswered {
		t.Errorf("relay_dead reason %q: says the ERP was answered %v, want %v", reason, answered, reasonAnswered)
	}
}

// When even the record of a refused output is refused, the store says
// ErrDataRejected, and it does not loop.
func TestRefusedRecordIsReported(t *testing.T) {
	t.Parallel()
	bad := mssql.Error{Number: 547, Class: 16, Message: "The INSERT statement conflicted with the CHECK constraint"}
	s, f := fakeStore(t, store.Options{}, func(c call) reply {
		if c.name == string(bTTO) || c.name == string(bDead) {
			return reply{err: bad}
		}
		return scripted(c)
	})
	err := s.Publish(context.Background(), []relay.Frame{{"jose", "E", "RING"}}, t0)
	if !errors.Is(err, relay.ErrDataRejected) {
		t.Fatalf("Publish = %v, want ErrDataRejected", err)
	}
	if f.commits != 0 || f.rollbacks != 3 {
		t.Errorf("%d commits, %d rollbacks", f.commits, f.rollbacks)
	}
}
