package httpbridge

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store/memstore"
)

// GET /v1/commands/{id} answers from the store: a command another source
// queued, or one queued before the bridge (re)started, in every state, and
// ?wait= waits for one it did not queue.
func TestGetCommandIsDurable(t *testing.T) {
	t.Parallel()
	s := memstore.New()
	ctx := context.Background()
	now := time.Now()
	enq, err := s.Enqueue(ctx, []relay.Inbound{
		{Source: relay.SourceSocket, Ref: "conn-1", Raw: "<jose><S>$"},
		{Source: relay.SourceCLI, Ref: "send", Raw: "<maria><A><85><40050500><>$"},
		{Source: relay.SourceCLI, Ref: "send", Raw: "<ana><S>$"},
	}, now, 0)
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := s.Claim(ctx, relay.ClaimRequest{Owner: "other-relay", Limit: 10, Now: now, LeaseUntil: now.Add(time.Hour)})
	if err != nil || len(jobs) != 3 {
		t.Fatalf("claimed %d, %v", len(jobs), err)
	}
	job := map[string]relay.Job{}
	for _, j := range jobs {
		job[j.Agent] = j
	}
	if _, _, err := s.Settle(ctx, []relay.Outcome{
		{Job: job["jose"], Kind: relay.Done, Replies: []relay.Frame{relay.OK("jose"), relay.NewFrame("jose", "S", "1")}},
		{Job: job["maria"], Kind: relay.Dead, Reason: "in-doubt: no answer", Replies: []relay.Frame{relay.ErrReply("maria", relay.CodeInDoubt, "no answer")}},
	}, now, relay.ClaimRequest{}); err != nil {
		t.Fatal(err)
	}
	r := newRig(t, s, Config{}) // a bridge that queued none of them
	get := func(path string) commandJSON {
		t.Helper()
		res := r.do("GET", path, "", "")
		var c commandJSON
		if res.status != 200 || json.Unmarshal([]byte(res.body), &c) != nil {
			t.Fatalf("GET %s: %d %s", path, res.status, res.body)
		}
		return c
	}
	if c := get(fmt.Sprintf("/v1/commands/%d", enq[0].ID)); c.State != relay.CommandDone || c.Source != relay.SourceSocket ||
		len(c.Replies) != 2 || c.Replies[1].Frame != "<jose><S><1>$" || c.Agent != "jose" {
		t.Fatalf("done: %+v", c)
	}
	if c := get(fmt.Sprintf("/v1/commands/%d", enq[1].ID)); c.State != relay.CommandDead || c.DeadReason != "in-doubt: no answer" ||
		c.Attempts != 1 || len(c.Replies) != 1 {
		t.Fatalf("dead: %+v", c)
	}
	if c := get(fmt.Sprintf("/v1/commands/%d", enq[2].ID)); c.State != relay.CommandRunning || len(c.Replies) != 0 {
		t.Fatalf("running: %+v", c)
	}
	// Waiting on a command another relay runs: answered once its reply is
	// read, whether the wait began before the settle or after.
	got := make(chan commandJSON, 1)
	go func() { got <- get(fmt.Sprintf("/v1/commands/%d?wait=30s", enq[2].ID)) }()
	if _, _, err := s.Settle(ctx, []relay.Outcome{{Job: job["ana"], Kind: relay.Done, Replies: []relay.Frame{relay.OK("ana")}}}, now, relay.ClaimRequest{}); err != nil {
		t.Fatal(err)
	}
	r.feed.Wake()
	if c := <-got; c.State != relay.CommandDone || len(c.Replies) != 1 || c.Replies[0].Frame != "<ana><OK>$" {
		t.Fatalf("waited: %+v", c)
	}
}
