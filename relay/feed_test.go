package relay_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest"
)

func leakCheck(t *testing.T) { t.Cleanup(func() { goleak.VerifyNone(t) }) }

func flush(t *testing.T, f *relay.Feed) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

func submitOne(t *testing.T, f *relay.Feed, raw string) *relay.Pending {
	t.Helper()
	ps, err := f.Submit(context.Background(), []relay.Inbound{{Source: relay.SourceCLI, Raw: raw}})
	if err != nil {
		t.Fatal(err)
	}
	return ps[0]
}

// Concurrent submissions are committed together: one Enqueue for all that
// waited while the previous one ran.
func TestFeedSubmitCoalescesConcurrentCalls(t *testing.T) {
	leakCheck(t)
	s := newFeedStore()
	s.gate, s.entered = make(chan struct{}), make(chan struct{}, 10)
	f := newFeed(t, s, nil)
	const n = 40
	var wg sync.WaitGroup
	ids := make([]int64, n+1)
	submit := func(i int) {
		defer wg.Done()
		ps, err := f.Submit(context.Background(), []relay.Inbound{{Source: relay.SourceSocket, Raw: fmt.Sprintf("<ag%d><S>$", i)}})
		if err != nil {
			t.Error(err)
			return
		}
		ids[i] = ps[0].ID
	}
	wg.Add(1)
	go submit(0)
	<-s.entered // the first is in Enqueue, held by the gate
	wg.Add(n)
	for i := 1; i <= n; i++ {
		go submit(i)
	}
	for relay.FeedQueued(f) < n {
		runtime.Gosched() // the submitters queue
	}
	close(s.gate)
	wg.Wait()
	if enq, _ := s.counts(); enq != 2 {
		t.Fatalf("%d Enqueue calls for %d concurrent submissions, want 2", enq, n+1)
	}
	slices.Sort(ids)
	if ids[0] != 1 || ids[n] != n+1 || len(slices.Compact(ids)) != n+1 {
		t.Fatalf("inbox ids %v, want 1..%d each once", ids, n+1)
	}
}

func TestFeedSubmitQueueFullAnswersBusy(t *testing.T) {
	leakCheck(t)
	s := newFeedStore()
	s.gate, s.entered = make(chan struct{}), make(chan struct{}, 10)
	f := newFeed(t, s, func(c *relay.FeedConfig) { c.SubmitQueue = 2 })
	done := make(chan error, 3)
	submit := func(raw string) {
		_, err := f.Submit(context.Background(), []relay.Inbound{{Raw: raw}})
		done <- err
	}
	go submit("<a><S>$")
	<-s.entered
	go submit("<b><S>$")
	go submit("<c><S>$")
	for relay.FeedQueued(f) < 2 {
		runtime.Gosched()
	}
	_, err := f.Submit(context.Background(), []relay.Inbound{{Raw: "<d><S>$"}})
	if !errors.Is(err, relay.ErrFeedBusy) {
		t.Fatalf("Submit with a full queue: %v, want ErrFeedBusy", err)
	}
	close(s.gate)
	for range 3 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// A pending command waits for all its replies, however the reads cut them.
func TestFeedPendingWaitsForAllItsReplies(t *testing.T) {
	cases := []struct {
		name    string
		batch   int
		replies []string
		after   bool // an entry of another command follows
	}{
		{"one reply, read to the end", 1000, []string{"<a><OK>$"}, false},
		{"two replies, read to the end", 1000, []string{"<a><OK>$", "<a><EndCall>$"}, false},
		{"replies cut by the batch, next command ends them", 2, []string{"<a><OK>$", "<a><x>$", "<a><y>$"}, true},
		{"replies filling the batch exactly", 3, []string{"<a><OK>$", "<a><x>$", "<a><y>$"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			leakCheck(t)
			s := newFeedStore()
			f := newFeed(t, s, func(c *relay.FeedConfig) { c.Batch = tc.batch })
			p := submitOne(t, f, "<a><S>$")
			q := submitOne(t, f, "<b><S>$")
			s.reply(p.ID, "a", tc.replies...)
			if tc.after {
				s.reply(q.ID, "b", "<b><OK>$")
			}
			f.Wake()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			got, err := p.Wait(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var frames []string
			for _, e := range got {
				frames = append(frames, e.Frame)
			}
			if !slices.Equal(frames, tc.replies) {
				t.Fatalf("replies %q, want %q", frames, tc.replies)
			}
		})
	}
}

func TestFeedPendingRefusedOrTimedOut(t *testing.T) {
	leakCheck(t)
	s := newFeedStore()
	f := newFeed(t, s, nil)
	ps, err := f.Submit(context.Background(), []relay.Inbound{{Raw: "garbage"}, {Raw: "<a><S>$"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ps[0].Wait(context.Background()); relay.AsProtocolError(err) == nil || ps[0].Err == nil {
		t.Fatalf("refused frame: Wait %v, Err %v; want its admission error", err, ps[0].Err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ps[1].Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait past its deadline: %v", err)
	}
	f.Stop()
	if _, err := ps[1].Wait(context.Background()); !errors.Is(err, relay.ErrFeedStopped) {
		t.Fatalf("Wait once the feed stopped: %v, want ErrFeedStopped", err)
	}
	if _, err := f.Submit(context.Background(), []relay.Inbound{{Raw: "<a><S>$"}}); !errors.Is(err, relay.ErrFeedStopped) {
		t.Fatalf("Submit after Stop: %v", err)
	}
}

// Entries reach subscribers in journal order, as their filter says.
func TestFeedSubscribeFilterAndOrder(t *testing.T) {
	leakCheck(t)
	s := newFeedStore()
	f := newFeed(t, s, func(c *relay.FeedConfig) { c.Batch = 2 })
	cases := []struct {
		filter relay.Filter
		want   []int64
	}{
		{relay.Filter{}, []int64{1, 2, 3, 4, 5}},
		{relay.Filter{Kinds: []string{relay.KindEvent}}, []int64{1, 3, 4, 5}},
		{relay.Filter{Agents: []string{" JOSE "}}, []int64{1, 2, 4}},
		{relay.Filter{Kinds: []string{relay.KindReply}, Agents: []string{"jose"}}, []int64{2}},
	}
	cols := make([]*collector, len(cases))
	for i, tc := range cases {
		cols[i] = newCollector()
		if _, err := f.Subscribe("", tc.filter, cols[i].fn); err != nil {
			t.Fatal(err)
		}
	}
	s.event("jose", "<jose><R>$")
	s.reply(9, "jose", "<jose><OK>$")
	s.event("ana", "<ana><R>$")
	s.event("jose", "<jose><EndCall>$")
	s.event("ana", "<ana><EndCall>$")
	flush(t, f)
	for i, tc := range cases {
		if got := cols[i].ids(); !slices.Equal(got, tc.want) {
			t.Errorf("filter %+v: handed %v, want %v", tc.filter, got, tc.want)
		}
	}
}

// One journal read per poll serves every subscriber.
func TestFeedOneReadServesEverySubscriber(t *testing.T) {
	leakCheck(t)
	s := newFeedStore()
	f := newFeed(t, s, nil)
	const n = 25
	cols := make([]*collector, n)
	for i := range cols {
		cols[i] = newCollector()
		kinds := []string{relay.KindEvent}
		if i%2 == 0 {
			kinds = append(kinds, relay.KindReply)
		}
		if _, err := f.Subscribe(fmt.Sprint("sub", i), relay.Filter{Kinds: kinds}, cols[i].fn); err != nil {
			t.Fatal(err)
		}
	}
	flush(t, f)
	_, before := s.counts()
	s.event("a", "<a><R>$")
	flush(t, f)
	_, after := s.counts()
	if after-before != 1 {
		t.Fatalf("%d journal reads for one poll with %d subscribers, want 1", after-before, n)
	}
	for i, c := range cols {
		if got := c.ids(); !slices.Equal(got, []int64{1}) {
			t.Fatalf("subscriber %d handed %v", i, got)
		}
	}
}

// Wake delivers without a poll: the clock never fires.
func TestFeedWakeDeliversWithoutPolling(t *testing.T) {
	leakCheck(t)
	s := newFeedStore()
	f := newFeed(t, s, nil)
	c := newCollector()
	if _, err := f.Subscribe("", relay.Filter{}, c.fn); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		id := s.event("a", "<a><R>$")
		f.Wake()
		if got := c.waitN(t, i+1); got[i] != id {
			t.Fatalf("handed %v, want %d last", got, id)
		}
	}
}

// The store's notifier wakes the feed too.
func TestFeedStoreWakeupsDeliver(t *testing.T) {
	leakCheck(t)
	s := newFeedStore()
	wake := make(chan struct{}, 1)
	f := newFeed(t, s, func(c *relay.FeedConfig) { c.Wakeups = wake })
	c := newCollector()
	if _, err := f.Subscribe("", relay.Filter{}, c.fn); err != nil {
		t.Fatal(err)
	}
	s.event("a", "<a><R>$")
	wake <- struct{}{}
	c.waitN(t, 1)
}

// A subscriber whose buffer overflows is cut off with ErrLagged; the others
// go on; named, it resumes from its durable position.
func TestFeedLaggingSubscriberIsCutOff(t *testing.T) {
	leakCheck(t)
	s := newFeedStore()
	f := newFeed(t, s, nil)
	block := make(chan struct{})
	entered := make(chan struct{}, 10)
	slow, err := f.Subscribe("slow", relay.Filter{}, func(d relay.Delivery) {
		entered <- struct{}{}
		<-block
	}, relay.Buffer(2))
	if err != nil {
		t.Fatal(err)
	}
	fast := newCollector()
	if _, err := f.Subscribe("", relay.Filter{}, fast.fn, relay.Buffer(100)); err != nil {
		t.Fatal(err)
	}
	s.event("a", "<a><1>$")
	f.Wake()
	<-entered // the slow one holds entry 1
	for i := 2; i <= 6; i++ {
		s.event("a", fmt.Sprintf("<a><%d>$", i))
	}
	f.Wake()
	fast.waitN(t, 6)
	close(block)
	<-slow.Done()
	if !errors.Is(slow.Err(), relay.ErrLagged) {
		t.Fatalf("slow subscriber ended with %v, want ErrLagged", slow.Err())
	}
	flush(t, f)
	if got := s.cursor("slow"); got != 1 {
		t.Fatalf("slow's durable position %d, want 1 (only entry 1 was handled)", got)
	}
	again := newCollector()
	if _, err := f.Subscribe("slow", relay.Filter{}, again.fn); err != nil {
		t.Fatal(err)
	}
	if got := again.waitN(t, 5); !slices.Equal(got, []int64{2, 3, 4, 5, 6}) {
		t.Fatalf("resumed with %v, want 2..6", got)
	}
}

// A named position survives a restart: a new feed resumes after it.
func TestFeedNamedPositionAcrossRestart(t *testing.T) {
	leakCheck(t)
	s := newFeedStore()
	f1, err := relay.NewFeed(relay.FeedConfig{Store: s, Clock: stillClock{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := f1.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	c1 := newCollector()
	if _, err := f1.Subscribe("hook", relay.Filter{}, c1.fn); err != nil {
		t.Fatal(err)
	}
	s.event("a", "<a><1>$")
	s.event("a", "<a><2>$")
	flush(t, f1)
	f1.Stop()
	f1.Stop()
	if got := s.cursor("hook"); got != 2 {
		t.Fatalf("saved position %d, want 2", got)
	}
	s.event("a", "<a><3>$") // while no relay ran
	f2 := newFeed(t, s, nil)
	s.event("a", "<a><4>$")
	c2 := newCollector()
	if _, err := f2.Subscribe("hook", relay.Filter{}, c2.fn); err != nil {
		t.Fatal(err)
	}
	flush(t, f2)
	if got := c2.waitN(t, 2); !slices.Equal(got, []int64{3, 4}) {
		t.Fatalf("after the restart handed %v, want [3 4]", got)
	}
}

// With ManualAck the durable position moves only with Ack; After resumes
// an unnamed subscriber after an id.
func TestFeedManualAckAndAfter(t *testing.T) {
	leakCheck(t)
	s := newFeedStore()
	for i := range 4 {
		s.event("a", fmt.Sprintf("<a><%d>$", i+1))
	}
	f := newFeed(t, s, nil)
	handed := newCollector()
	sub, err := f.Subscribe("hook", relay.Filter{}, handed.fn, relay.After(0), relay.ManualAck())
	if err != nil {
		t.Fatal(err)
	}
	handed.waitN(t, 4)
	flush(t, f)
	if got := s.cursor("hook"); got != 0 {
		t.Fatalf("position %d before any Ack, want 0", got)
	}
	sub.Ack(2) // delivered; 3 and 4 "failed"
	flush(t, f)
	if got := s.cursor("hook"); got != 2 {
		t.Fatalf("position %d, want 2: only Ack moves it", got)
	}
	c := newCollector()
	if _, err := f.Subscribe("", relay.Filter{}, c.fn, relay.After(3)); err != nil {
		t.Fatal(err)
	}
	if got := c.waitN(t, 1); !slices.Equal(got, []int64{4}) {
		t.Fatalf("After(3) handed %v", got)
	}
}

// Replies of commands submitted through a subscription are handed to its fn
// at their place in the journal, before the event that follows, and before
// the command completes.
func TestFeedSubscriptionSubmitKeepsJournalOrder(t *testing.T) {
	leakCheck(t)
	s := newFeedStore()
	f := newFeed(t, s, nil)
	var mu sync.Mutex
	var seen []string
	sub, err := f.Subscribe("", relay.Filter{Kinds: []string{relay.KindEvent}}, func(d relay.Delivery) {
		mu.Lock()
		defer mu.Unlock()
		tag := ""
		if d.Pending != nil {
			tag = d.Pending.Tag().(string) + ":"
		}
		seen = append(seen, tag+d.Entry.Frame)
	})
	if err != nil {
		t.Fatal(err)
	}
	ps, err := sub.Submit(context.Background(), []relay.Inbound{{Raw: "<a><D>$"}}, "conn1")
	if err != nil {
		t.Fatal(err)
	}
	s.event("b", "<b><R>$")
	s.reply(ps[0].ID, "a", "<a><OK>$", "<a><EndCall>$")
	s.event("a", "<a><G><x>$")
	f.Wake()
	got, err := ps[0].Wait(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || ps[0].Delivered() != 2 {
		t.Fatalf("Wait %v, delivered %d; want both replies delivered", got, ps[0].Delivered())
	}
	flush(t, f)
	mu.Lock()
	defer mu.Unlock()
	want := []string{"<b><R>$", "conn1:<a><OK>$", "conn1:<a><EndCall>$", "<a><G><x>$"}
	if !slices.Equal(seen, want) {
		t.Fatalf("handed %q, want %q", seen, want)
	}
}

// A reply read while its Enqueue had not yet returned is not lost.
func TestFeedReplyReadDuringItsEnqueue(t *testing.T) {
	leakCheck(t)
	s := newFeedStore()
	f := newFeed(t, s, nil)
	s.onEnqueue = func(ids []int64) {
		s.reply(ids[0], "a", "<a><OK>$")
		f.Wake()
		<-s.readDone // the reader has read the reply
		<-s.readDone
	}
	p := submitOne(t, f, "<a><S>$")
	s.onEnqueue = nil
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, err := p.Wait(ctx)
	if err != nil || len(got) != 1 || got[0].Frame != "<a><OK>$" {
		t.Fatalf("Wait: %v, %v", got, err)
	}
}

func TestFeedStartStopContract(t *testing.T) {
	leakCheck(t)
	relaytest.StressStartStop(t, func(t *testing.T) relay.Service {
		f, err := relay.NewFeed(relay.FeedConfig{Store: newFeedStore(), Clock: stillClock{}})
		if err != nil {
			t.Fatal(err)
		}
		return f
	})
}

func TestFeedLifecycle(t *testing.T) {
	leakCheck(t)
	s := newFeedStore()
	f, err := relay.NewFeed(relay.FeedConfig{Store: s})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Subscribe("", relay.Filter{}, func(relay.Delivery) {}); !errors.Is(err, relay.ErrFeedStopped) {
		t.Fatalf("Subscribe before Start: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := f.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.Start(ctx); err != nil {
		t.Fatalf("second Start: %v", err)
	}
	sub, err := f.Subscribe("", relay.Filter{}, func(relay.Delivery) {})
	if err != nil {
		t.Fatal(err)
	}
	cancel() // ctx ending stops it
	<-sub.Done()
	f.Stop()
	f.Stop()
	if !errors.Is(sub.Err(), relay.ErrFeedStopped) {
		t.Fatalf("subscription ended with %v", sub.Err())
	}
	if err := f.Start(context.Background()); !errors.Is(err, relay.ErrFeedStopped) {
		t.Fatalf("Start after Stop: %v", err)
	}
	if _, err := relay.NewFeed(relay.FeedConfig{}); err == nil {
		t.Fatal("NewFeed without a store")
	}
}
