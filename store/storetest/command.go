package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

func init() {
	register("CommandByInboxIDInEveryState", commandStates)
}

func (e *env) command(t *testing.T, id int64) (relay.CommandRecord, bool) {
	t.Helper()
	rec, found, err := e.Store.Command(context.Background(), id)
	if err != nil {
		t.Fatalf("Command(%d): %v", id, err)
	}
	rec.EnqueuedAt = rec.EnqueuedAt.UTC()
	return rec, found
}

func replyFrames(es []relay.JournalEntry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Frame
	}
	return out
}

// A command is found by its inbox id, whatever its source, in each state
// (queued, running, retrying, done, dead), with its replies from the
// journal in order; done and dead ones still once their inbox row is gone.
func commandStates(t *testing.T, e *env) {
	erp, _ := e.intakeFrames(t, t0, "<erp1><S>$")
	ids := e.cli(t, t0, "<ana><S>$", "<bob><S>$", "<cy><A><85><40050500><>$", "<dan><S>$")
	all := append(slices.Clone(erp), ids...)
	for _, id := range all {
		rec, found := e.command(t, id)
		if !found || rec.State != relay.CommandQueued || rec.Attempts != 0 || rec.ID != id {
			t.Fatalf("queued %d: found %v, %+v", id, found, rec)
		}
	}
	if rec, _ := e.command(t, erp[0]); rec.Source != relay.SourceERP || rec.Agent != "erp1" || rec.Frame != "<erp1><S>$" || !rec.EnqueuedAt.Equal(t0) {
		t.Fatalf("ERP command: %+v", rec)
	}
	if rec, _ := e.command(t, ids[0]); rec.Source != relay.SourceCLI || rec.Ref != "cli-1" || rec.Agent != "ana" {
		t.Fatalf("cli command: %+v", rec)
	}
	jobs := e.claim(t, "r1", 10, at(time.Second), at(time.Hour))
	byID := map[int64]relay.Job{}
	for _, j := range jobs {
		byID[j.ID] = j
	}
	if len(byID) != len(all) {
		t.Fatalf("claimed %+v", jobs)
	}
	if rec, _ := e.command(t, ids[0]); rec.State != relay.CommandRunning || rec.Attempts != 1 {
		t.Fatalf("running: %+v", rec)
	}
	errReply := relay.ErrReply("cy", relay.CodeInDoubt, "no answer")
	e.settle(t, at(2*time.Second),
		relay.Outcome{Job: byID[ids[0]], Kind: relay.Done, Replies: []relay.Frame{relay.OK("ana"), relay.NewFrame("ana", "S", "1")}},
		relay.Outcome{Job: byID[ids[1]], Kind: relay.Retry, Reason: "timeout", NotBefore: at(time.Minute)},
		relay.Outcome{Job: byID[ids[2]], Kind: relay.Dead, Reason: "in-doubt: no answer", Replies: []relay.Frame{errReply}},
		relay.Outcome{Job: byID[erp[0]], Kind: relay.Done, Replies: []relay.Frame{relay.OK("erp1")}},
	)
	// Events between do not belong to any command.
	if err := e.Store.Publish(context.Background(), []relay.Frame{relay.NewFrame("ana", "R", "1")}, at(3*time.Second)); err != nil {
		t.Fatal(err)
	}
	rec, found := e.command(t, ids[0])
	if !found || rec.State != relay.CommandDone || rec.Agent != "ana" || rec.Source != relay.SourceCLI || rec.Frame != "<ana><S>$" ||
		!slices.Equal(replyFrames(rec.Replies), []string{"<ana><OK>$", "<ana><S><1>$"}) {
		t.Fatalf("done: found %v, %+v", found, rec)
	}
	for _, r := range rec.Replies {
		if r.InboxID != ids[0] || r.Kind != relay.KindReply || r.ID == 0 {
			t.Fatalf("done: reply %+v", r)
		}
	}
	if rec.Replies[0].ID >= rec.Replies[1].ID {
		t.Fatalf("replies out of journal order: %+v", rec.Replies)
	}
	if rec, _ := e.command(t, erp[0]); rec.State != relay.CommandDone || rec.Source != relay.SourceERP || len(rec.Replies) != 1 {
		t.Fatalf("done ERP command: %+v", rec)
	}
	rec, _ = e.command(t, ids[1])
	if rec.State != relay.CommandRetrying || rec.Attempts != 1 || rec.LastError != "timeout" || len(rec.Replies) != 0 {
		t.Fatalf("retrying: %+v", rec)
	}
	rec, _ = e.command(t, ids[2])
	if rec.State != relay.CommandDead || rec.Attempts != 1 || rec.DeadReason != "in-doubt: no answer" || rec.Agent != "cy" ||
		!slices.Equal(replyFrames(rec.Replies), []string{errReply.String()}) {
		t.Fatalf("dead: %+v", rec)
	}
	if rec, _ := e.command(t, ids[3]); rec.State != relay.CommandRunning {
		t.Fatalf("still running: %+v", rec)
	}
	if rec, found := e.command(t, ids[3]+1000); found {
		t.Fatalf("an id never queued is found: %+v", rec)
	}
}
