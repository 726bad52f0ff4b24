package sqlserver

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

// TestOutboxTrafficGolden pins the requests of T_TTO expiry and of the
// leases' listing, as TestTrafficGolden does for the rest: the expired rows
// are journaled under the output applock in the same transaction.
func TestOutboxTrafficGolden(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, f := fakeStore(t, store.Options{}, func(c call) reply {
		switch c.name {
		case string(qOutboxExpire):
			return reply{rows: [][]driver.Value{{int64(7), "<jose><E><A>$"}, {int64(9), "<ana><E><B>$"}}}
		case string(qLeaseHolders):
			return reply{rows: [][]driver.Value{{"r1#1", int64(2), t0}}}
		}
		return scripted(c)
	})
	note := func(o relay.ExpiredOutput) relay.Note {
		return relay.Note{Agent: "jose", Origin: "job:retention", What: relay.NoteTTOExpired, Text: fmt.Sprint(o.ID)}
	}
	var b strings.Builder
	for _, st := range []struct {
		name string
		run  func() error
	}{
		{"MarkOutbox", func() error { return s.MarkOutbox(ctx, t0) }},
		{"ExpireOutbox", func() error {
			gone, err := s.ExpireOutbox(ctx, relay.ExpireOutboxRequest{Before: t0, Limit: 100, Now: later, Note: note})
			if err == nil && len(gone) != 2 {
				err = fmt.Errorf("expired %+v", gone)
			}
			return err
		}},
		{"LeaseHolders", func() error {
			held, err := s.LeaseHolders(ctx)
			if err == nil && (len(held) != 1 || held[0].Commands != 2 || !held[0].Expires.Equal(t0)) {
				err = fmt.Errorf("holders %+v", held)
			}
			return err
		}},
	} {
		before := len(f.Calls())
		if err := st.run(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		fmt.Fprintf(&b, "%s\n%s", st.name, trace(f.Calls()[before:]))
	}
	checkGolden(t, "traffic_outbox.txt", b.String())

	// ERP-numbered T_TTO: ids come back after the ERP deleted the top rows.
	x, _ := fakeStore(t, store.Options{ExplicitIDs: true}, scripted)
	if err := x.MarkOutbox(ctx, t0); !errors.Is(err, errReusedIDs) {
		t.Fatalf("MarkOutbox with explicit ids: %v", err)
	}
	if _, err := x.ExpireOutbox(ctx, relay.ExpireOutboxRequest{Before: t0, Limit: 1, Now: t0, Note: note}); !errors.Is(err, errReusedIDs) {
		t.Fatalf("ExpireOutbox with explicit ids: %v", err)
	}
}
