package crm_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/bridges/crm"
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
