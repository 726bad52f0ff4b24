package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

func init() {
	register("CommandFoundAmongManyInAnyOrder", commandAmongMany)
}

// Many agents' commands, settled out of their order with events between:
// each is found done with exactly its own replies, whatever a store
// searches the journal by (SQLite has no index on inbox_id).
func commandAmongMany(t *testing.T, e *env) {
	const agents, rounds = 7, 12
	var frames []string
	for range rounds {
		for a := range agents {
			frames = append(frames, fmt.Sprintf("<ag%d><S>$", a))
		}
	}
	ids := e.cli(t, t0, frames...)
	replies := map[int64][]string{}
	now := t0
	for len(replies) < len(ids) {
		now = now.Add(time.Second)
		jobs := e.claim(t, "r1", agents, now, now.Add(time.Minute))
		if len(jobs) == 0 {
			t.Fatalf("nothing to claim with %d of %d settled", len(replies), len(ids))
		}
		slices.Reverse(jobs) // settled in another order than claimed
		var outs []relay.Outcome
		for i, j := range jobs {
			fs := []relay.Frame{relay.StatusReply(j.Agent, relay.StateAvailable)}
			if i%2 == 0 {
				fs = append(fs, relay.OK(j.Agent))
			}
			for _, f := range fs {
				replies[j.ID] = append(replies[j.ID], f.String())
			}
			outs = append(outs, relay.Outcome{Job: j, Kind: relay.Done, Replies: fs})
		}
		e.settle(t, now, outs...)
		e.publish(t, now, "<ag0><R><1>$")
	}
	for _, id := range ids {
		rec, found := e.command(t, id)
		if !found || rec.State != relay.CommandDone || !slices.Equal(replyFrames(rec.Replies), replies[id]) {
			t.Fatalf("command %d: found %v, %+v; want replies %v", id, found, rec, replies[id])
		}
	}
	if _, found := e.command(t, ids[len(ids)-1]+1000); found {
		t.Fatal("found a command that never was")
	}
}
