package sqlserver

import (
	"context"
	"database/sql/driver"
	"slices"
	"testing"

	mssql "github.com/microsoft/go-mssqldb"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

// Intake inserts leased (running, attempt 1, owner and expiry) the commands
// that arrive at the head of their agent's queue: the agent's first in the
// batch, a command rather than a held refusal, with nothing of the agent in
// the inbox; the oldest claim.Limit of them. The rest are inserted ready.
func TestIntakeLeasesTheArrivalsAtTheHead(t *testing.T) {
	t.Parallel()
	rows := [][]driver.Value{
		{int64(1), "<jose><L><ON>$"},
		{int64(2), "<jose><S>$"},  // behind jose's first
		{int64(3), "<ana><S>$"},   // ana has a command in the inbox
		{int64(4), "<bia><ZZ>$"},  // refused, answered at once: bia has nothing
		{int64(5), "<ana><ZZ>$"},  // refused, held behind ana's commands
		{int64(6), "<maria><S>$"}, // at the head
		{int64(7), "<rui><S>$"},   // at the head, beyond the limit
	}
	for _, tt := range []struct {
		limit  int
		leased []string // frames inserted running
	}{
		{10, []string{"<jose><L><ON>$", "<maria><S>$", "<rui><S>$"}},
		{2, []string{"<jose><L><ON>$", "<maria><S>$"}},
		{0, nil},
	} {
		s, f := fakeStore(t, store.Options{}, func(c call) reply {
			switch c.name {
			case string(qTakeTTI):
				return reply{rows: rows}
			case string(bBusy):
				var out [][]driver.Value
				for _, a := range c.args {
					has := int64(0)
					if a.Value == "ana" {
						has = 1
					}
					out = append(out, []driver.Value{a.Value, has})
				}
				return reply{rows: out}
			}
			return scripted(c)
		})
		claim := relay.ClaimRequest{Owner: "r1#1", Limit: tt.limit, Now: t0, LeaseUntil: later}
		n, jobs, err := s.Intake(context.Background(), relay.IntakeRequest{Limit: 10, Now: t0}, claim)
		if err != nil || n != len(rows) {
			t.Fatalf("limit %d: Intake = %d, %v", tt.limit, n, err)
		}
		var running, ready []string
		for _, c := range f.Calls() {
			if c.name != string(bInbox) {
				continue
			}
			for i := 1; i+9 < len(c.args); i += 10 {
				frame := c.args[i+5].Value.(string)
				switch c.args[i+6].Value {
				case mssql.VarChar("running"):
					running = append(running, frame)
					if c.args[i+7].Value != int32(1) || c.args[i+8].Value != "r1#1" || c.args[i+9].Value != nullTS(later) {
						t.Errorf("limit %d: %s inserted running as %v", tt.limit, frame, c.args[i+6:i+10])
					}
				case mssql.VarChar("ready"):
					ready = append(ready, frame)
				}
			}
		}
		if !slices.Equal(running, tt.leased) {
			t.Errorf("limit %d: inserted running %q, want %q", tt.limit, running, tt.leased)
		}
		if len(running)+len(ready) != 6 {
			t.Errorf("limit %d: %d rows into the inbox, want 6 (bia's refusal is answered at once)", tt.limit, len(running)+len(ready))
		}
		var got []string
		for _, j := range jobs {
			got = append(got, j.Frame)
			if j.Owner != "r1#1" || j.Attempts != 1 || j.ID == 0 {
				t.Errorf("limit %d: job %+v", tt.limit, j)
			}
		}
		if !slices.Equal(got, tt.leased) {
			t.Errorf("limit %d: jobs %q, want %q", tt.limit, got, tt.leased)
		}
	}
}

// A cancelled context is returned as the error, and nothing is sent.
func TestCancelledContextSendsNothing(t *testing.T) {
	t.Parallel()
	s, f := fakeStore(t, store.Options{}, scripted)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := s.Intake(ctx, relay.IntakeRequest{Limit: 1, Now: t0}, relay.ClaimRequest{}); err == nil {
		t.Error("Intake with a cancelled context succeeded")
	}
	if _, err := s.Claim(ctx, relay.ClaimRequest{Owner: "r", Limit: 1, Now: t0, LeaseUntil: later}); err == nil {
		t.Error("Claim with a cancelled context succeeded")
	}
	if _, err := s.Status(ctx, t0); err == nil {
		t.Error("Status with a cancelled context succeeded")
	}
	if n := len(f.Calls()); n != 0 {
		t.Errorf("%d requests sent with a cancelled context", n)
	}
}
