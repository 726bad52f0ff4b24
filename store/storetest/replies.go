package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

func init() {
	register("SettleRepliesAreContiguousInTheJournal", settleRepliesContiguous)
}

// The replies of one outcome are written together: consecutive journal
// ids, in the outcome's order, even while other relays settle and publish
// at once. relay.Feed counts on it to know a command's replies are complete
// once it has read past them.
func settleRepliesContiguous(t *testing.T, e *env) {
	const writers, perWriter = 3, 8
	frames := make([]string, writers*perWriter)
	for i := range frames {
		frames[i] = fmt.Sprintf("<ag%d><D>$", i)
	}
	e.cli(t, t0, frames...)
	jobs := e.claim(t, "r1", len(frames), at(time.Second), at(time.Hour))
	if len(jobs) != len(frames) {
		t.Fatalf("claimed %d, want %d", len(jobs), len(frames))
	}
	stores := []relay.Store{e.Store}
	for range writers - 1 {
		if e.Open == nil {
			stores = append(stores, e.Store)
			continue
		}
		stores = append(stores, e.Open(t))
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	for w, s := range stores {
		wg.Go(func() {
			for i := range perWriter {
				j := jobs[w*perWriter+i]
				out := relay.Outcome{Job: j, Kind: relay.Done, Replies: []relay.Frame{
					relay.OK(j.Agent), relay.NewFrame(j.Agent, "x", "1"), relay.EndCall(j.Agent)}}
				if _, _, err := s.Settle(ctx, []relay.Outcome{out}, at(2*time.Second), relay.ClaimRequest{}); err != nil {
					t.Errorf("Settle: %v", err)
					return
				}
				if err := s.Publish(ctx, []relay.Frame{relay.NewFrame("ev", "R", fmt.Sprint(w, i))}, at(2*time.Second)); err != nil {
					t.Errorf("Publish: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	all, err := e.Store.Journal(ctx, 0, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	byInbox := map[int64][]relay.JournalEntry{}
	for _, x := range all {
		if x.Kind == relay.KindReply {
			byInbox[x.InboxID] = append(byInbox[x.InboxID], x)
		}
	}
	if len(byInbox) != len(jobs) {
		t.Fatalf("replies for %d commands, want %d", len(byInbox), len(jobs))
	}
	for id, rs := range byInbox {
		if len(rs) != 3 {
			t.Fatalf("inbox %d: %d replies, want 3", id, len(rs))
		}
		for i := 1; i < len(rs); i++ {
			if rs[i].ID != rs[0].ID+int64(i) {
				t.Fatalf("inbox %d: replies at journal ids %d, %d, %d: not contiguous", id, rs[0].ID, rs[1].ID, rs[2].ID)
			}
		}
		if rs[0].Frame != relay.OK(rs[0].Agent).String() || rs[2].Frame != relay.EndCall(rs[2].Agent).String() {
			t.Fatalf("inbox %d: replies %q, %q, %q out of order", id, rs[0].Frame, rs[1].Frame, rs[2].Frame)
		}
	}
}
