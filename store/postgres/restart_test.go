package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/internal/pgtest"
	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
	"github.com/ctirelay/ctirelay/store/postgres"
)

// A database restart makes calls fail with an error the engine can treat as
// transient, loses nothing, and the same store works again once the server
// is back; the wake-up listener reconnects and wakes the relay for a full
// look. It runs on a private cluster so others' tests are not disturbed.
func TestDatabaseRestart(t *testing.T) {
	t.Parallel()
	c := pgtest.New(t)
	dsn := c.DSN(t)
	ctx := context.Background()
	t0 := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	s := open(t, dsn, store.Options{})
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := s.Enqueue(ctx, []relay.Inbound{{Source: relay.SourceCLI, Ref: "1", Raw: "<jose><S>$"}}, t0, 0)
	if err != nil || got[0].ID == 0 {
		t.Fatalf("Enqueue = %+v, %v", got, err)
	}
	awaitWakeup(t, s.AnyWakeup(), "enqueue")
	if _, err := rawDB(t, dsn).Exec(`INSERT INTO T_TTI (DS_TTI) VALUES ('<ana><S>$')`); err != nil {
		t.Fatal(err)
	}
	intake := func() (int, error) {
		n, _, err := s.Intake(ctx, relay.IntakeRequest{Limit: 10, Now: t0}, relay.ClaimRequest{})
		return n, err
	}

	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	claim := func() ([]relay.Job, error) {
		return s.Claim(ctx, relay.ClaimRequest{Owner: "r1", Limit: 10, Now: t0, LeaseUntil: t0.Add(time.Minute)})
	}
	for _, call := range []struct {
		name string
		f    func() error
	}{
		{"Claim", func() error { _, err := claim(); return err }},
		{"Enqueue", func() error {
			_, err := s.Enqueue(ctx, []relay.Inbound{{Source: relay.SourceCLI, Ref: "2", Raw: "<ana><S>$"}}, t0, 0)
			return err
		}},
		{"Status", func() error { _, err := s.Status(ctx, t0); return err }},
		{"Intake", func() error { _, err := intake(); return err }},
	} {
		err := call.f()
		if err == nil {
			t.Fatalf("%s succeeded while the server was down", call.name)
		}
		if !postgres.IsUnavailable(err) {
			t.Fatalf("%s while down: %v is not classified unavailable", call.name, err)
		}
	}

	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	// The pool may hand out a connection the restart killed; it is then
	// discarded, so a few tries reach the server.
	var jobs []relay.Job
	for try := 0; ; try++ {
		if jobs, err = claim(); err == nil {
			break
		}
		if try == 5 {
			t.Fatalf("Claim after restart: %v", err)
		}
	}
	if len(jobs) != 1 || jobs[0].Frame != "<jose><S>$" || jobs[0].Attempts != 1 {
		t.Fatalf("Claim after restart = %+v; the command queued before it must be there", jobs)
	}
	// The row the ERP wrote before the restart is taken once.
	for try := 0; ; try++ {
		n, err := intake()
		if err == nil {
			if n != 1 {
				t.Fatalf("Intake after restart took %d rows, want the 1 left in T_TTI", n)
			}
			break
		}
		if try == 5 {
			t.Fatalf("Intake after restart: %v", err)
		}
	}
	// The listener sends a wake-up once it has reconnected.
	awaitWakeup(t, s.AnyWakeup(), "listener reconnection")
}
