package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
	"github.com/ctirelay/ctirelay/store"
	"github.com/ctirelay/ctirelay/store/postgres"
)

var t0 = time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)

func leaseTo(owner string) relay.ClaimRequest {
	return relay.ClaimRequest{Owner: owner, Limit: 100, Now: t0, LeaseUntil: t0.Add(time.Minute)}
}

// inboxRow is one inbox command as the intake recorded it.
type inboxRow struct {
	agent, frame string
	ref, id      int64
	running      bool
}

func inbox(t *testing.T, db *sql.DB) []inboxRow {
	t.Helper()
	rs, err := db.Query(`SELECT agent, frame, source_ref::bigint, id, state = 'running' FROM relay_inbox ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var out []inboxRow
	for rs.Next() {
		var r inboxRow
		if err := rs.Scan(&r.agent, &r.frame, &r.ref, &r.id, &r.running); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkOrder fails unless every agent's commands are in the inbox in IS_TTI
// order, the agent's first one alone leased (when lease), and refs are the
// IS_TTI values expected, each once.
func checkOrder(t *testing.T, rows []inboxRow, refs []int64, lease bool) {
	t.Helper()
	var got []int64
	last := map[string]int64{}
	for _, r := range rows {
		got = append(got, r.ref)
		prev, seen := last[r.agent]
		if seen && prev > r.ref {
			t.Errorf("agent %s: IS_TTI %d entered the inbox after %d", r.agent, r.ref, prev)
		}
		last[r.agent] = r.ref
		if lease && r.running == seen {
			t.Errorf("agent %s: IS_TTI %d leased = %v, want %v (the agent's first alone)", r.agent, r.ref, r.running, !seen)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, refs) {
		t.Errorf("inbox holds IS_TTI %v, want %v", got, refs)
	}
}

func insertTTI(t testing.TB, db *sql.DB, rows ...string) {
	t.Helper()
	for _, r := range rows {
		if _, err := db.Exec(`INSERT INTO T_TTI VALUES (` + r + `)`); err != nil {
			t.Fatal(err)
		}
	}
}

// Two relays taking T_TTI at once, as an ERP keeps inserting, with rows
// for the same agents: every row enters the inbox once, each agent's in
// IS_TTI order, and only each agent's oldest is leased.
func TestIntakeRacingRelaysKeepOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, dsn := migrated(t, store.Options{})
	erp := rawDB(t, dsn)
	relays := []relay.Store{s, open(t, dsn, store.Options{})}
	const rows, agents, per = 600, 7, 5
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < rows; i += per {
			var b strings.Builder
			for j := i; j < i+per; j++ {
				if j > i {
					b.WriteString("), (")
				}
				fmt.Fprintf(&b, "%d, '<ag%d><P><ON><%d>$'", j+1, j%agents, j)
			}
			insertTTI(t, erp, b.String())
		}
	}()
	var mu sync.Mutex
	taken := 0
	var wg sync.WaitGroup
	for i, r := range relays {
		wg.Go(func() {
			for {
				n, _, err := r.Intake(ctx, relay.IntakeRequest{Limit: 1 + 3*i, Now: t0}, leaseTo(fmt.Sprint("relay", i)))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				taken += n
				all := taken >= rows
				mu.Unlock()
				if all {
					return
				}
				select {
				case <-done:
					if n == 0 {
						mu.Lock()
						all := taken >= rows
						mu.Unlock()
						if all {
							return
						}
					}
				default:
				}
			}
		})
	}
	wg.Wait()
	<-done
	want := make([]int64, rows)
	for i := range want {
		want[i] = int64(i + 1)
	}
	checkOrder(t, inbox(t, erp), want, true)
}

// A relay killed while its intake waits for the intake lock takes nothing:
// the rows stay in T_TTI, and the next intake takes them all, in order.
func TestIntakeKilledMidCallTakesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, dsn := migrated(t, store.Options{})
	erp := rawDB(t, dsn)
	insertTTI(t, erp, `1, '<ana><S>$'`, `2, '<ana><AC>$'`, `3, '<bob><S>$'`)
	holder, err := erp.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := holder.Exec(`SELECT pg_advisory_xact_lock($1)`, postgres.IntakeLockKey); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, _, err := s.Intake(ctx, relay.IntakeRequest{Limit: 10, Now: t0}, leaseTo("relay"))
		errc <- err
	}()
	// database/sql sends a statement whose connection broke again, on
	// another: each try is killed in turn, until Intake gives up.
	var err2 error
	kills := 0
	wait.For(t, "the intake to give up, killed each time it waits for the intake lock", func() bool {
		select {
		case err2 = <-errc:
			return true
		default:
		}
		var pid int
		if erp.QueryRow(`SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
			AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&pid) == nil {
			if _, err := erp.Exec(`SELECT pg_terminate_backend($1)`, pid); err != nil {
				t.Fatal(err)
			}
			kills++
		}
		return false
	})
	if err2 == nil || kills == 0 {
		t.Fatalf("Intake killed %d times while it waited for the lock returned %v", kills, err2)
	}
	if rows := inbox(t, erp); len(rows) != 0 {
		t.Errorf("a killed intake left %+v in the inbox", rows)
	}
	if err := holder.Commit(); err != nil {
		t.Fatal(err)
	}
	if n, _, err := s.Intake(ctx, relay.IntakeRequest{Limit: 10, Now: t0}, leaseTo("relay")); n != 3 || err != nil {
		t.Fatalf("Intake after the kill = %d, %v; want the 3 rows", n, err)
	}
	checkOrder(t, inbox(t, erp), []int64{1, 2, 3}, true)
}
