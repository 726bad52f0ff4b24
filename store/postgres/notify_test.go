package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
	"github.com/ctirelay/ctirelay/store/postgres"
)

// safety is how long a test waits for something that must happen; it guards
// against a hang and is not a speed check.
const safety = 60 * time.Second

func awaitWakeup(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(safety):
		t.Fatalf("no wake-up after %s", what)
	}
}

func triggers(t *testing.T, s *postgres.Store, table string) int {
	t.Helper()
	var n int
	// the notify trigger only: a relay-created T_TTI has its numbering one too
	err := s.DB().QueryRow(`SELECT count(*) FROM pg_trigger WHERE tgrelid = $1::regclass AND NOT tgisinternal
		AND tgname LIKE '%tti_notify'`, table).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// rawListener listens on the trigger's channel as an outside observer, so a
// test can tell the trigger's notification from any other.
func rawListener(t *testing.T, dsn string) *pq.Listener {
	t.Helper()
	l := pq.NewListener(dsn, 100*time.Millisecond, time.Second, nil)
	t.Cleanup(func() { _ = l.Close() })
	if err := l.Listen("ctirelay_tti"); err != nil {
		t.Fatal(err)
	}
	return l
}

func nextPayload(t *testing.T, l *pq.Listener) string {
	t.Helper()
	select {
	case n := <-l.Notify:
		if n == nil {
			t.Fatal("listener reconnected during the test")
		}
		return n.Extra
	case <-time.After(safety):
		t.Fatal("no notification")
	}
	return ""
}

// TestNotifyTrigger checks the opt-in trigger on T_TTI: installed and removed
// idempotently, notifying once per inserting statement when on, never when
// off. A marker notification sent after the insert proves the absence: the
// server delivers notifications in commit order.
func TestNotifyTrigger(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		opts     store.Options
		settings []bool // SetNotifyTrigger calls, in order
		want     []string
	}{
		{"on", store.Options{}, []bool{true}, []string{"", "marker"}},
		{"on twice", store.Options{}, []bool{true, true}, []string{"", "marker"}},
		{"never on", store.Options{}, nil, []string{"marker"}},
		{"on then off twice", store.Options{}, []bool{true, false, false}, []string{"marker"}},
		{"on in a schema", store.Options{Schema: "cti", InboundTable: "erp_in"}, []bool{true}, []string{"", "marker"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, dsn := migrated(t, tt.opts)
			names := tt.opts
			names, _ = names.WithDefaults()
			tti := names.Names()["tti"]
			for _, on := range tt.settings {
				if err := s.SetNotifyTrigger(ctx, on); err != nil {
					t.Fatalf("SetNotifyTrigger(%v): %v", on, err)
				}
			}
			wantTriggers := 0
			if len(tt.settings) > 0 && tt.settings[len(tt.settings)-1] {
				wantTriggers = 1
			}
			if got := triggers(t, s, tti); got != wantTriggers {
				t.Fatalf("%d triggers on %s, want %d", got, tti, wantTriggers)
			}
			l := rawListener(t, dsn)
			db := rawDB(t, dsn)
			// one statement of two rows: one notification
			if _, err := db.Exec(`INSERT INTO ` + tti + ` (DS_TTI) VALUES ('<jose><L><ON>$'), ('<ana><L><ON>$')`); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(`SELECT pg_notify('ctirelay_tti', 'marker')`); err != nil {
				t.Fatal(err)
			}
			var got []string
			for len(got) < len(tt.want) {
				got = append(got, nextPayload(t, l))
			}
			for i := range tt.want {
				if got[i] != tt.want[i] {
					t.Fatalf("notifications %q, want %q", got, tt.want)
				}
			}
		})
	}
}

// TestWakeupsAcrossRelays: what one relay does that may give another work
// wakes the other at once.
func TestWakeupsAcrossRelays(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		// setup must not notify; act must cause a wake-up.
		setup, act func(t *testing.T, s *postgres.Store, db func(string))
	}{
		{
			name: "ERP insert with the trigger on",
			setup: func(t *testing.T, s *postgres.Store, _ func(string)) {
				if err := s.SetNotifyTrigger(context.Background(), true); err != nil {
					t.Fatal(err)
				}
			},
			act: func(t *testing.T, _ *postgres.Store, db func(string)) {
				db(`INSERT INTO T_TTI (DS_TTI) VALUES ('<jose><S>$')`)
			},
		},
		{
			name: "intake",
			setup: func(t *testing.T, _ *postgres.Store, db func(string)) {
				db(`INSERT INTO T_TTI VALUES (7, '<jose><S>$')`)
			},
			act: func(t *testing.T, s *postgres.Store, _ func(string)) {
				if n, _, err := s.Intake(context.Background(), relay.IntakeRequest{Limit: 10, Now: t0}, relay.ClaimRequest{}); err != nil || n != 1 {
					t.Fatalf("Intake = %d, %v", n, err)
				}
			},
		},
		{
			name: "enqueue",
			act: func(t *testing.T, s *postgres.Store, _ func(string)) {
				if _, err := s.Enqueue(context.Background(), []relay.Inbound{{Source: relay.SourceCLI, Ref: "1", Raw: "<jose><S>$"}}, t0, 0); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "settle done",
			setup: func(t *testing.T, _ *postgres.Store, db func(string)) {
				// as Enqueue would, but without its notification; the second
				// command is what settling the first one unblocks
				db(`INSERT INTO relay_inbox (source, source_ref, agent, verb, frame, enqueued_at)
				    VALUES ('cli', '1', 'jose', 'S', '<jose><S>$', now()), ('cli', '2', 'jose', 'S', '<jose><S>$', now())`)
			},
			act: func(t *testing.T, s *postgres.Store, _ func(string)) {
				ctx := context.Background()
				jobs, err := s.Claim(ctx, relay.ClaimRequest{Owner: "a", Limit: 1, Now: t0, LeaseUntil: t0.Add(time.Minute)})
				if err != nil || len(jobs) != 1 {
					t.Fatalf("Claim = %v, %v", jobs, err)
				}
				if n, _, err := s.Settle(ctx, []relay.Outcome{{Job: jobs[0], Kind: relay.Done}}, t0, relay.ClaimRequest{}); err != nil || n != 1 {
					t.Fatalf("Settle = %d, %v", n, err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, dsn := migrated(t, store.Options{})
			b := open(t, dsn, store.Options{})
			raw := rawDB(t, dsn)
			db := func(q string) {
				if _, err := raw.Exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			if tt.setup != nil {
				tt.setup(t, a, db)
			}
			// Nothing in setup notifies (nor does Claim), so a wake-up can
			// only come from act.
			select {
			case <-b.AnyWakeup():
				t.Fatal("wake-up before the action")
			default:
			}
			tt.act(t, a, db)
			awaitWakeup(t, b.AnyWakeup(), tt.name)
		})
	}
}

// TestJournalWakeupsAcrossRelays: a reply no T_TTO carries, and an event,
// wake the other relays' journal feeds (and not their engines).
func TestJournalWakeupsAcrossRelays(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		source string
		act    func(t *testing.T, s *postgres.Store)
	}{
		{name: "settle of a cli command", source: "cli"},
		{name: "publish", act: func(t *testing.T, s *postgres.Store) {
			if err := s.Publish(context.Background(), []relay.Frame{relay.EndCall("jose")}, t0); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, dsn := migrated(t, store.Options{})
			b := open(t, dsn, store.Options{})
			ctx := context.Background()
			act := tt.act
			if act == nil {
				// as Enqueue would, without its notification: nothing waits
				// behind it, so its settle unblocks nothing
				if _, err := rawDB(t, dsn).Exec(`INSERT INTO relay_inbox (source, source_ref, agent, verb, frame, enqueued_at)
				    VALUES ($1, '1', 'jose', 'S', '<jose><S>$', now())`, tt.source); err != nil {
					t.Fatal(err)
				}
				jobs, err := a.Claim(ctx, relay.ClaimRequest{Owner: "a", Limit: 1, Now: t0, LeaseUntil: t0.Add(time.Minute)})
				if err != nil || len(jobs) != 1 {
					t.Fatalf("Claim = %v, %v", jobs, err)
				}
				act = func(t *testing.T, s *postgres.Store) {
					out := relay.Outcome{Job: jobs[0], Kind: relay.Done, Replies: []relay.Frame{relay.StatusReply("jose", relay.StateAvailable)}}
					if n, _, err := s.Settle(ctx, []relay.Outcome{out}, t0, relay.ClaimRequest{}); err != nil || n != 1 {
						t.Fatalf("Settle = %d, %v", n, err)
					}
				}
			}
			select {
			case <-b.JournalWakeups():
				t.Fatal("journal wake-up before the action")
			default:
			}
			act(t, a)
			awaitWakeup(t, b.JournalWakeups(), tt.name)
			intake, claim := b.Wakeups()
			select {
			case <-intake:
				t.Fatal("the engine's intake wake-up fired for a journal write")
			case <-claim:
				t.Fatal("the engine's claim wake-up fired for a journal write")
			default:
			}
		})
	}
}
