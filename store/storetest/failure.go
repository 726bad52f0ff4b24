package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

func init() {
	register("CancelledContextIsReturnedAndChangesNothing", cancelled)
	register("IntakeIsAtomic", intakeAtomic)
	register("ClosedHandleFails", closedHandle)
}

func cancelled(t *testing.T, e *env) {
	e.insertTTI(t, "<jose><S>$")
	e.cli(t, t0, "<ana><S>$")
	jobs := e.claim(t, "r1", 1, t0, at(time.Minute))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := map[string]func() error{
		"Intake": func() error {
			_, _, err := e.Store.Intake(ctx, relay.IntakeRequest{Limit: 10, Now: t0}, relay.ClaimRequest{})
			return err
		},
		"Enqueue": func() error {
			_, err := e.Store.Enqueue(ctx, []relay.Inbound{{Source: "cli", Ref: "x", Raw: "<bia><S>$"}}, t0, 0)
			return err
		},
		"Claim": func() error {
			_, err := e.Store.Claim(ctx, relay.ClaimRequest{Owner: "r2", Limit: 10, Now: t0, LeaseUntil: at(time.Minute)})
			return err
		},
		"Reclaim": func() error {
			_, err := e.Store.Reclaim(ctx, relay.ClaimRequest{Owner: "r2", Limit: 10, Now: at(time.Hour), LeaseUntil: at(2 * time.Hour)})
			return err
		},
		"Settle": func() error {
			_, _, err := e.Store.Settle(ctx, []relay.Outcome{{Job: jobs[0], Kind: relay.Done, Replies: []relay.Frame{relay.OK("ana")}}}, t0, relay.ClaimRequest{})
			return err
		},
		"Publish": func() error { return e.Store.Publish(ctx, []relay.Frame{relay.EndCall("ana")}, t0) },
		"Extend":  func() error { return e.Store.Extend(ctx, "r1", at(time.Hour)) },
		"Release": func() error { return e.Store.Release(ctx, "r1") },
		"Journal": func() error {
			_, err := e.Store.Journal(ctx, 0, 10)
			return err
		},
		"RetryDead": func() error {
			_, err := e.Store.RetryDead(ctx, []int64{1}, t0)
			return err
		},
		"Status": func() error {
			_, err := e.Store.Status(ctx, t0)
			return err
		},
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: err = %v, want context.Canceled", name, err)
		}
	}
	equal(t, "T_TTI", e.tti(t), []string{"<jose><S>$"})
	equal(t, "T_TTO", e.tto(t), []string(nil))
	rows := e.inbox(t)
	if len(rows) != 1 || rows[0].State != "running" || rows[0].LeaseOwner != "r1" || rows[0].LeaseExpires != us(at(time.Minute)) {
		t.Fatalf("inbox: %+v", rows)
	}
}

// A row leaves T_TTI only in the transaction that records it: when recording
// fails, the rows stay for the next intake.
func intakeAtomic(t *testing.T, e *env) {
	e.needSQL(t, "renames relay_dead under the store to break an intake midway")
	e.insertTTI(t, "<jose><S>$", "<maria><BAD>$", "<ana><S>$")
	away := e.Names["prefix"] + "dead_away"
	qualifiedAway := away
	if s := e.Names["schema"]; s != "" {
		qualifiedAway = s + "." + away
	}
	e.exec(t, `ALTER TABLE {{dead}} RENAME TO `+away)
	if _, _, err := e.Store.Intake(context.Background(), relay.IntakeRequest{Limit: 10, Now: t0}, relay.ClaimRequest{}); err == nil {
		t.Fatal("Intake succeeded without relay_dead")
	}
	equal(t, "T_TTI after the failed intake", e.tti(t), []string{"<jose><S>$", "<maria><BAD>$", "<ana><S>$"})
	equal(t, "inbox after the failed intake", e.inbox(t), []InboxRow(nil))
	if n := e.Tables.JournalLen(t); n != 0 {
		t.Fatalf("journal has %d rows after the failed intake", n)
	}

	e.exec(t, `ALTER TABLE `+qualifiedAway+` RENAME TO `+e.Names["prefix"]+"dead")
	if n := e.intake(t, 10, t0); n != 3 {
		t.Fatalf("Intake took %d, want 3", n)
	}
	if len(e.inbox(t)) != 2 || len(e.dead(t)) != 1 || len(e.tti(t)) != 0 {
		t.Fatalf("after intake: inbox %+v dead %+v", e.inbox(t), e.dead(t))
	}
}

// A handle that is closed (or whose connection broke) reports errors; it never
// pretends to have done the work.
func closedHandle(t *testing.T, e *env) {
	s := e.Store // a store with one handle closes that one: the tables stay readable
	if e.Open != nil {
		s = e.Open(t)
	}
	e.insertTTI(t, "<jose><S>$")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_ = s.Close() // a second Close must not panic
	if _, _, err := s.Intake(context.Background(), relay.IntakeRequest{Limit: 10, Now: t0}, relay.ClaimRequest{}); err == nil {
		t.Error("Intake on a closed store: no error")
	}
	if _, err := s.Claim(context.Background(), relay.ClaimRequest{Owner: "r", Limit: 10, Now: t0, LeaseUntil: at(time.Minute)}); err == nil {
		t.Error("Claim on a closed store: no error")
	}
	if err := s.Publish(context.Background(), []relay.Frame{relay.EndCall("jose")}, t0); err == nil {
		t.Error("Publish on a closed store: no error")
	}
	if _, err := s.Status(context.Background(), t0); err == nil {
		t.Error("Status on a closed store: no error")
	}
	equal(t, "T_TTI", e.tti(t), []string{"<jose><S>$"})
	equal(t, "T_TTO", e.tto(t), []string(nil))
}
