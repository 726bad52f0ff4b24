package memstore

import (
	"context"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

func TestCursorsMoveForwardOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := New()
	if _, found, err := s.Cursor(ctx, "socket:jose"); found || err != nil {
		t.Fatalf("unsaved cursor found=%v err=%v", found, err)
	}
	steps := []struct {
		at   time.Time
		pos  int64
		want relay.Cursor
	}{
		{t0, 5, relay.Cursor{Name: "socket:jose", Position: 5, UpdatedAt: t0}},
		{t0.Add(time.Second), 4, relay.Cursor{Name: "socket:jose", Position: 5, UpdatedAt: t0}},
		{t0.Add(2 * time.Second), 5, relay.Cursor{Name: "socket:jose", Position: 5, UpdatedAt: t0.Add(2 * time.Second)}},
		{t0.Add(3 * time.Second), 9, relay.Cursor{Name: "socket:jose", Position: 9, UpdatedAt: t0.Add(3 * time.Second)}},
	}
	for _, st := range steps {
		if err := s.AdvanceCursors(ctx, []relay.Cursor{{Name: "socket:jose", Position: st.pos}}, st.at); err != nil {
			t.Fatal(err)
		}
		got, found, err := s.Cursor(ctx, "socket:jose")
		if err != nil || !found || got != st.want {
			t.Fatalf("after advancing to %d: %+v found=%v err=%v, want %+v", st.pos, got, found, err, st.want)
		}
	}
}

func TestJournalSinceFiltersKinds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := New()
	if _, err := s.Enqueue(ctx, []relay.Inbound{{Source: relay.SourceSocket, Ref: "1", Raw: "<jose><S>$"}}, now, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Publish(ctx, []relay.Frame{relay.EndCall("jose"), relay.EndCall("ana")}, now); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		after int64
		kinds []string
		limit int
		want  []int64
	}{
		{"events", 0, []string{relay.KindEvent}, 10, []int64{2, 3}},
		{"every kind", 0, nil, 10, []int64{1, 2, 3}},
		{"after", 2, []string{relay.KindEvent, relay.KindReply}, 10, []int64{3}},
		{"limit", 0, []string{relay.KindEvent, relay.KindCommand}, 2, []int64{1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := s.JournalSince(ctx, tt.after, tt.kinds, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, e := range got {
				ids = append(ids, e.ID)
			}
			if len(ids) != len(tt.want) {
				t.Fatalf("ids %v, want %v", ids, tt.want)
			}
			for i := range ids {
				if ids[i] != tt.want[i] {
					t.Fatalf("ids %v, want %v", ids, tt.want)
				}
			}
		})
	}
}
