package storetest

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

func init() {
	register("IntakeClaimLeasesHeadsOfIdleAgents", intakeClaimHeads)
	register("IntakeClaimLimitInIDOrder", intakeClaimLimit)
}

// intakeClaim calls Intake with a claim.
func (e *env) intakeClaim(t *testing.T, limit int, now time.Time, claim relay.ClaimRequest) (int, []relay.Job) {
	t.Helper()
	n, jobs, err := e.Store.Intake(context.Background(), relay.IntakeRequest{Limit: limit, Now: now}, claim)
	if err != nil {
		t.Fatalf("Intake with a claim: %v", err)
	}
	return n, normJobs(jobs)
}

// A command that arrives while its agent has nothing in the inbox is at the
// head of the agent's queue: the intake leases it at once. Later commands of
// the same agent, and those of agents with older commands waiting, are left
// for Claim; rejected rows are answered as by Intake.
func intakeClaimHeads(t *testing.T, e *env) {
	older := e.cli(t, t0, "<jose><L><ON>$")
	tti := e.insertTTI(t, "<jose><S>$", "<ana><L><ON>$", "<ana><S>$", "<dan><FLY>$", "<bia><S>$")
	claim := relay.ClaimRequest{Owner: "r1", Limit: 10, Now: at(time.Second), LeaseUntil: at(time.Minute)}
	n, jobs := e.intakeClaim(t, 10, at(time.Second), claim)
	if n != 5 {
		t.Fatalf("Intake with a claim took %d rows, want 5", n)
	}
	rows := e.inbox(t)
	if len(rows) != 5 {
		t.Fatalf("inbox %+v", rows)
	}
	ref := func(i int) string { return strconv.FormatInt(tti[i], 10) }
	equal(t, "leased", jobs, []relay.Job{
		job(rows[2].ID, "erp", ref(1), "ana", relay.VerbLogon, "<ana><L><ON>$", 1, at(time.Second), "r1"),
		job(rows[4].ID, "erp", ref(4), "bia", relay.VerbStatus, "<bia><S>$", 1, at(time.Second), "r1"),
	})
	for i, want := range []struct {
		id           int64
		state, owner string
		expires      time.Time
		attempts     int64
	}{
		{older[0], "ready", "", time.Time{}, 0},
		{rows[1].ID, "ready", "", time.Time{}, 0}, // jose's: an older one waits
		{rows[2].ID, "running", "r1", at(time.Minute), 1},
		{rows[3].ID, "ready", "", time.Time{}, 0}, // ana's second
		{rows[4].ID, "running", "r1", at(time.Minute), 1},
	} {
		r := rows[i]
		exp := int64(0)
		if !want.expires.IsZero() {
			exp = us(want.expires)
		}
		if r.ID != want.id || r.State != want.state || r.LeaseOwner != want.owner || r.LeaseExpires != exp || r.Attempts != want.attempts {
			t.Errorf("inbox row %d = %+v, want %+v", i, r, want)
		}
	}
	if tto := e.tto(t); len(tto) != 1 || !strings.HasPrefix(tto[0], "<dan><ERR><UNKNOWN_VERB>") || len(e.dead(t)) != 1 {
		t.Errorf("the rejected row: T_TTO %q, dead %+v", tto, e.dead(t))
	}
	// Claim gets jose's first, never a second command of ana.
	equal(t, "claim", e.claim(t, "r2", 10, at(2*time.Second), at(time.Minute)), []relay.Job{
		job(older[0], "cli", "cli-1", "jose", relay.VerbLogon, "<jose><L><ON>$", 1, t0, "r2"),
	})
	// An intake with no room leases nothing.
	e.insertTTI(t, "<cid><S>$")
	n, jobs = e.intakeClaim(t, 10, at(3*time.Second), relay.ClaimRequest{Owner: "r1", Limit: 0, Now: at(3 * time.Second), LeaseUntil: at(time.Minute)})
	if n != 1 || len(jobs) != 0 {
		t.Fatalf("Intake with a claim of limit 0 = %d, %+v", n, jobs)
	}
}

// The limit keeps the oldest heads.
func intakeClaimLimit(t *testing.T, e *env) {
	tti := e.insertTTI(t, "<c><S>$", "<a><S>$", "<b><S>$")
	claim := relay.ClaimRequest{Owner: "r1", Limit: 2, Now: t0, LeaseUntil: at(time.Minute)}
	n, jobs := e.intakeClaim(t, 10, t0, claim)
	rows := e.inbox(t)
	if n != 3 || len(rows) != 3 {
		t.Fatalf("Intake with a claim took %d rows, inbox %+v", n, rows)
	}
	ref := func(i int) string { return strconv.FormatInt(tti[i], 10) }
	equal(t, "leased", jobs, []relay.Job{
		job(rows[0].ID, "erp", ref(0), "c", relay.VerbStatus, "<c><S>$", 1, t0, "r1"),
		job(rows[1].ID, "erp", ref(1), "a", relay.VerbStatus, "<a><S>$", 1, t0, "r1"),
	})
	equal(t, "claim", e.claim(t, "r2", 10, t0, at(time.Minute)), []relay.Job{
		job(rows[2].ID, "erp", ref(2), "b", relay.VerbStatus, "<b><S>$", 1, t0, "r2"),
	})
	// The journal records the commands taken, as Intake does.
	equal(t, "journal", e.journal(t), []relay.JournalEntry{
		cmdEntry(t0, "c", "<c><S>$", "erp", ref(0), rows[0].ID),
		cmdEntry(t0, "a", "<a><S>$", "erp", ref(1), rows[1].ID),
		cmdEntry(t0, "b", "<b><S>$", "erp", ref(2), rows[2].ID),
	})
}
