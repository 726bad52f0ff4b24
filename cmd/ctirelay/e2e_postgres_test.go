package main

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/internal/pgtest"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
)

// pgRig is a server database (PostgreSQL, or SQL Server: newMSSQLRig)
// migrated by the real binary, with a writer connection acting as the ERP.
type pgRig struct {
	t   *testing.T
	dsn string
	dir string
	cfg string
	db  *sql.DB
	// param is the dialect's i-th placeholder ($1, @p1).
	param func(i int) string
	// patience multiplies the waits of the shared scenarios (a slower server).
	patience time.Duration
}

func newPGRig(t *testing.T, config string) *pgRig {
	t.Helper()
	r := &pgRig{t: t, dsn: pgtest.DSN(t), dir: t.TempDir(), param: func(i int) string { return fmt.Sprintf("$%d", i) }, patience: 1}
	r.cfg = writeFile(t, filepath.Join(r.dir, "ctirelay.yaml"), config)
	if out, errOut, code := ctl(t, r.dir, "migrate", "--db", r.dsn, "--config", r.cfg); code != 0 {
		t.Fatalf("migrate: %d %s %s", code, out, errOut)
	}
	r.db = pgtest.Open(t, r.dsn)
	return r
}

func (r *pgRig) relays(n int) []*relayProc {
	out := make([]*relayProc, n)
	for i := range out {
		out[i] = startRelay(r.t, r.dir, "--db", r.dsn, "--config", r.cfg, "--node", fmt.Sprintf("relay-%d", i))
	}
	return out
}

// insertAsERPs runs writers concurrent writers, each owning a slice of the
// agents, inserting commands with plain multi-row INSERTs. frame(agent, k)
// gives an agent's k-th command. Per agent, insert order is IS_TTI order.
func (r *pgRig) insertAsERPs(writers, agents, perAgent int, frame func(agent string, k int) string) {
	r.t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			var rows []string
			for k := range perAgent {
				for a := w; a < agents; a += writers {
					rows = append(rows, frame(fmt.Sprintf("agent%03d", a), k))
				}
			}
			for len(rows) > 0 {
				batch := rows[:min(100, len(rows))]
				rows = rows[len(batch):]
				var q strings.Builder
				args := make([]any, len(batch))
				q.WriteString("INSERT INTO T_TTI (DS_TTI) VALUES ")
				for i, f := range batch {
					if i > 0 {
						q.WriteByte(',')
					}
					fmt.Fprintf(&q, "(%s)", r.param(i+1))
					args[i] = f
				}
				if _, err := r.db.Exec(q.String(), args...); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		r.t.Fatal(err)
	}
}

func (r *pgRig) replies() int {
	return count(r.t, r.db, "SELECT count(*) FROM relay_journal WHERE kind = 'reply'")
}

// checkEveryCommandAnsweredOnceInOrder verifies, from the journal, that each
// T_TTI row got exactly one answer and that each agent's answers came in the
// order its rows were inserted.
func (r *pgRig) checkEveryCommandAnsweredOnceInOrder(total int) {
	t := r.t
	t.Helper()
	rows, err := r.db.Query(`
		SELECT c.source_ref, a.agent
		FROM relay_journal a
		JOIN relay_journal c ON c.inbox_id = a.inbox_id AND c.kind = 'command'
		WHERE a.kind = 'reply'
		ORDER BY a.id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	answered := map[int64]int{}
	last := map[string]int64{}
	n := 0
	for rows.Next() {
		var ref, agent string
		if err := rows.Scan(&ref, &agent); err != nil {
			t.Fatal(err)
		}
		id, err := strconv.ParseInt(ref, 10, 64)
		if err != nil {
			t.Fatalf("source_ref %q is not an IS_TTI", ref)
		}
		answered[id]++
		if id <= last[agent] {
			t.Fatalf("agent %s: answer to IS_TTI %d came after the answer to %d", agent, id, last[agent])
		}
		last[agent] = id
		n++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for id, c := range answered {
		if c != 1 {
			t.Fatalf("IS_TTI %d answered %d times", id, c)
		}
	}
	if n != total || len(answered) != total {
		t.Fatalf("%d answers to %d distinct commands, want %d", n, len(answered), total)
	}
	if left := count(t, r.db, "SELECT count(*) FROM T_TTI"); left != 0 {
		t.Fatalf("%d rows left in T_TTI", left)
	}
	if left := count(t, r.db, "SELECT count(*) FROM relay_inbox"); left != 0 {
		t.Fatalf("%d commands left in relay_inbox", left)
	}
}

const pgRelayConfig = `
engine:
  max_in_flight: 20
  poll_interval: 20ms
  lease: 2s
log:
  level: debug
  format: json
switch:
  sim:
    think_time: %s
`

// TestE2EPostgresThreeRelaysTenThousandCommands: 3 relay processes, 4
// concurrent writers, 10,000 commands for 100 agents.
func TestE2EPostgresThreeRelaysTenThousandCommands(t *testing.T) {
	threeRelaysTenThousandCommands(t, newPGRig(t, fmt.Sprintf(pgRelayConfig, "0s")))
}

// TestE2EPostgresKillNineLosesNothing kills one of three relays mid-run: every
// command is still answered exactly once, in order, and no non-idempotent
// command reaches the switch twice.
func TestE2EPostgresKillNineLosesNothing(t *testing.T) {
	killNineLosesNothing(t, newPGRig(t, fmt.Sprintf(pgRelayConfig, "20ms")))
}

// cycleFrames gives an agent's k-th command from cycle, whose formats take
// the agent and, when they have a second verb, k.
func cycleFrames(cycle ...string) func(agent string, k int) string {
	return func(agent string, k int) string {
		f := cycle[k%len(cycle)]
		if strings.Count(f, "%") == 2 {
			return fmt.Sprintf(f, agent, k)
		}
		return fmt.Sprintf(f, agent)
	}
}

// threeRelaysTenThousandCommands: 3 relay processes on r's database share 4
// concurrent writers' 10,000 commands for 100 agents, each answered once, in
// order, with no dead letter.
func threeRelaysTenThousandCommands(t *testing.T, r *pgRig) {
	relays := r.relays(3)
	r.insertAsERPs(4, 100, 100, cycleFrames("<%s><L><ON>$", "<%s><S>$", "<%s><P><ON><%d>$", "<%s><P><OFF>$"))
	wait.Within(t, 3*time.Minute*r.patience, "10,000 answers", func() bool { return r.replies() >= 10_000 })
	r.checkEveryCommandAnsweredOnceInOrder(10_000)
	if dead := count(t, r.db, "SELECT count(*) FROM relay_dead"); dead != 0 {
		t.Fatalf("%d dead letters", dead)
	}
	for i, p := range relays {
		if n := len(p.dispatches()); n == 0 {
			t.Errorf("relay %d dispatched nothing: work is not shared", i)
		}
		p.stop()
	}
}

// killNineLosesNothing kills one of three relays on r's database mid-run:
// every command is still answered exactly once, in order, and no
// non-idempotent command reaches the switch twice.
func killNineLosesNothing(t *testing.T, r *pgRig) {
	relays := r.relays(3)
	const agents, perAgent = 100, 30
	r.insertAsERPs(4, agents, perAgent, cycleFrames("<%s><L><ON>$", "<%s><A><11><9%07d><>$", "<%s><S>$", "<%s><D>$", "<%s><AC>$"))
	total := agents * perAgent
	wait.Within(t, time.Minute*r.patience, "a fifth of the answers", func() bool { return r.replies() >= total/5 })
	// max_in_flight 20 for 100 agents keeps every relay full while the backlog lasts.
	wait.Within(t, time.Minute*r.patience, "relay 0 holding commands", func() bool {
		return count(t, r.db, "SELECT count(*) FROM relay_inbox WHERE lease_owner LIKE 'relay-0#%' AND state = 'running'") >= 5
	})
	relays[0].kill()
	wait.Within(t, 3*time.Minute*r.patience, "every answer", func() bool { return r.replies() >= total })
	r.checkEveryCommandAnsweredOnceInOrder(total)

	sent := map[int64]int{}
	idempotentAgain := 0
	for _, p := range relays {
		for _, d := range p.dispatches() {
			sent[d.InboxID]++
			switch d.Verb {
			case "A", "D", "TR", "C":
				if sent[d.InboxID] > 1 {
					t.Errorf("non-idempotent %s (inbox id %d, %s) reached the switch %d times", d.Verb, d.InboxID, d.Agent, sent[d.InboxID])
				}
			default:
				if sent[d.InboxID] == 2 {
					idempotentAgain++
				}
			}
		}
	}
	inDoubt := count(t, r.db, "SELECT count(*) FROM relay_dead WHERE reason LIKE 'in-doubt%'")
	if inDoubt+idempotentAgain == 0 {
		t.Fatal("the killed relay held no command: the test did not exercise a crash mid-command")
	}
	if other := count(t, r.db, "SELECT count(*) FROM relay_dead WHERE reason NOT LIKE 'in-doubt%'"); other != 0 {
		t.Fatalf("%d dead letters for other reasons", other)
	}
	t.Logf("after kill -9: %d in-doubt commands dead-lettered, %d idempotent ones sent again", inDoubt, idempotentAgain)
	for _, p := range relays[1:] {
		p.stop()
	}
}
