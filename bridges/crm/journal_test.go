package crm_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/bridges/crm"
	httpbridge "github.com/ctirelay/ctirelay/bridges/http"
	"github.com/ctirelay/ctirelay/relay"
)

// book is a relay.Notebook keeping what it is given, or failing.
type book struct {
	mu   sync.Mutex
	got  []relay.Note
	fail error
}

func (b *book) Note(_ context.Context, ns []relay.Note, _ time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fail != nil {
		return b.fail
	}
	b.got = append(b.got, ns...)
	return nil
}

// A suppressed pop is a note in the journal: the consumer as its origin,
// the rule first in its text; a note the store refuses is logged instead.
func TestNotesGoToTheJournal(t *testing.T) {
	t.Parallel()
	b := &book{}
	var logs bytes.Buffer
	j := crm.Notes{Notebook: b, Origin: "crm:divalto", Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	crm.Rules{MinLength: 6}.Decide(context.Background(), j, "jose", "1234", false)
	if len(b.got) != 1 {
		t.Fatalf("notes %+v", b.got)
	}
	want := relay.Note{Agent: "jose", Origin: "crm:divalto", What: "pop-suppressed", Text: `min_length: caller "1234" is shorter than 6 digits`}
	if b.got[0] != want {
		t.Fatalf("note %+v, want %+v", b.got[0], want)
	}
	if logs.Len() != 0 {
		t.Fatalf("a journaled note was logged too: %s", logs.String())
	}
	b.fail = errors.New("database down")
	crm.Rules{Exceptions: []string{"0388000000"}}.Decide(context.Background(), j, "jose", "03 88 00 00 00", false)
	if s := logs.String(); !strings.Contains(s, "journal=false") || !strings.Contains(s, "rule=exceptions") || !strings.Contains(s, "database down") {
		t.Fatalf("the refused note was not logged: %s", s)
	}
}

// Senior's notifications and Divalto sharing the rules' decisions decide a
// call once: one lookup and one note, under the shared journal.
func TestSharedDecisionsOneNotePerCall(t *testing.T) {
	r := newRig(t, nil)
	shared := &notes{}
	var lookups atomic.Int32
	rules := crm.Rules{SuppressNoMatch: true, Shared: &crm.Decisions{Journal: shared},
		Lookup: crm.LookupFunc(func(context.Context, string) (crm.Customer, bool, error) {
			lookups.Add(1)
			return crm.Customer{}, false, nil
		})}
	_, base := r.divalto(func(d *crm.Divalto) { d.Rules = rules })
	c := newCRM(t, 0)
	rep := &crm.SeniorReports{Agents: map[string]string{"jose": "1024"}, Rules: rules, Journal: r.notes}
	r.bridge(httpbridge.Config{Webhooks: []httpbridge.WebhookConfig{rep.Webhook("senior", c.srv.URL)}})
	until(t, "the webhook following the feed", func() bool {
		_, found, _ := r.store.Cursor(context.Background(), httpbridge.CursorPosition("senior", 0))
		return found
	})
	r.emit(ring("jose", "0388202122", "1024"))
	r.emit(relay.EndCall("jose"))
	until(t, "the end reported", func() bool {
		head, _ := r.store.JournalHead(context.Background())
		cur, _, _ := r.store.Cursor(context.Background(), httpbridge.CursorPosition("senior", 0))
		return cur.Position == head
	})
	empty(t, base, "1024")
	if n := lookups.Load(); n != 1 {
		t.Fatalf("%d lookups for one call", n)
	}
	if shared.count() != 1 || !shared.has("pop-suppressed", crm.RuleNoMatch) || r.notes.count() != 0 {
		t.Fatalf("notes: shared %d, the consumer's own %d", shared.count(), r.notes.count())
	}
	if got := c.reports(); len(got) != 0 {
		t.Fatalf("a suppressed call was reported: %v", got)
	}
}
