package httpbridge

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// Subscribers that ask for pops (kind=pop) get the pop notes only: not
// the R events, not the other notes; kind=event,pop gets both.
func TestPopsSelection(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, func(int) int { return 204 })
	hook := hookConfig("pops", rc.srv.URL)
	hook.Kinds = []string{KindPop}
	r := newRig(t, nil, Config{Webhooks: []WebhookConfig{hook}})
	r.subscribed("pops")
	pops := r.stream("/v1/events/stream?kind=pop")
	both := r.stream("/v1/events/stream?kind=event,pop")
	r.publish(relay.NewFrame("jose", "R", "1"))
	pop := `{"event_id":1,"caller":"0388202122","extension":"1024"}`
	if err := r.store.Note(context.Background(), []relay.Note{
		{Agent: "jose", Origin: "crm:screen-pop", What: "pop-suppressed", Text: "exceptions: caller 0388000000 is an exception number"},
		{Agent: "jose", Origin: "crm:screen-pop", What: "pop", Text: pop},
	}, time.Now()); err != nil {
		t.Fatal(err)
	}
	r.publish(relay.NewFrame("jose", "EndCall"))
	r.feed.Wake()

	next := func(c *sseClient) (string, entryJSON) {
		for {
			ev := c.next(t)
			if ev.id == "" {
				continue
			}
			var e entryJSON
			if err := json.Unmarshal([]byte(ev.data), &e); err != nil {
				t.Fatalf("data %q: %v", ev.data, err)
			}
			return ev.event, e
		}
	}
	if ev, e := next(pops); ev != relay.KindNote || e.What != "pop" || e.Frame != pop || e.Agent != "jose" || e.Origin != "crm:screen-pop" {
		t.Fatalf("kind=pop stream: event %s %+v", ev, e)
	}
	for i, want := range []string{"event <jose><R><1>$", "note " + pop, "event <jose><EndCall>$"} {
		if ev, e := next(both); ev+" "+e.Frame != want {
			t.Fatalf("kind=event,pop stream #%d: %s %s, want %s", i, ev, e.Frame, want)
		}
	}
	res := r.do("GET", "/v1/events?kind=pop&after=0", "", "")
	var page struct{ Entries []entryJSON }
	if err := json.Unmarshal([]byte(res.body), &page); err != nil || len(page.Entries) != 1 || page.Entries[0].What != "pop" {
		t.Fatalf("long-poll kind=pop: %d %s", res.status, res.body)
	}
	// A second pop after the EndCall: delivered in order, the webhook
	// skipped everything else.
	if err := r.store.Note(context.Background(), []relay.Note{{Agent: "maria", Origin: "crm:screen-pop", What: "pop", Text: "{}"}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	r.feed.Wake()
	r.until("two pops delivered", func() bool { got, _ := rc.got(); return len(got) >= 2 })
	if got, _ := rc.got(); len(got) != 2 || got[0].What != "pop" || got[0].Frame != pop || got[1].Agent != "maria" {
		t.Fatalf("webhook kinds [pop] got %+v", got)
	}
	if res := r.do("GET", "/v1/events?kind=pops", "", ""); res.status != 400 {
		t.Fatalf("kind=pops: %d", res.status)
	}
}
