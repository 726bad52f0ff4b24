package postgres

import (
	"context"
	"encoding/json"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ctirelay/ctirelay/internal/pgtest"
	"github.com/ctirelay/ctirelay/store"
)

// hotStatements are the relay's statements that run for every command or
// every batch: each must reach its rows through an index (or a row version
// it just read) whatever the backlog.
var hotStatements = []query{qTakeTTI, qAdmit, qClaim, qSettle, qPublish, "reclaim", qReclaimDead, "extend", "release", "retry_dead", "journal_since", qInFlight}

// TestHotStatementsNeverScanQueueTables plans each hot statement the way a
// relay's session does (enable_seqscan off, the plan cached once for any
// parameters) against tables analyzed while empty and then filled with a
// backlog: the situation in which a cached plan once scanned the inbox
// whole on every batch. Every scan of a queue table must be a probe by key:
// estimated far below what reading the backlog's table or index costs.
func TestHotStatementsNeverScanQueueTables(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	s, err := Open(ctx, dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	exec := func(q string) {
		t.Helper()
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`ANALYZE`)
	const backlog = 100000
	fill := func(q string) { exec(strings.ReplaceAll(q, "BACKLOG", strconv.Itoa(backlog))) }
	fill(`INSERT INTO T_TTI (DS_TTI) SELECT '<ag' || (g % 500) || '><S>$' FROM generate_series(1, BACKLOG) g`)
	fill(`INSERT INTO relay_inbox (source, source_ref, agent, verb, frame, enqueued_at)
	      SELECT 'erp', g::text, 'ag' || (g % 500), 'S', '<ag' || (g % 500) || '><S>$', now() FROM generate_series(1, BACKLOG) g`)
	fill(`INSERT INTO relay_journal (at, direction, kind, agent, frame, origin)
	      SELECT now(), 'in', 'command', 'ag' || (g % 500), '<x><S>$', 'erp' FROM generate_series(1, BACKLOG) g`)
	exec(`SET plan_cache_mode = force_generic_plan`)

	param := regexp.MustCompile(`\$(\d+)`)
	for _, name := range hotStatements {
		text, ok := s.q.text[name]
		if !ok {
			t.Fatalf("no statement %s", name)
		}
		n := 0
		for _, m := range param.FindAllStringSubmatch(text, -1) {
			n = max(n, atoi(t, m[1]))
		}
		exec(`PREPARE plan_check AS ` + text)
		nulls := strings.TrimSuffix(strings.Repeat("NULL, ", n), ", ")
		var out string
		if err := conn.QueryRowContext(ctx, `EXPLAIN (FORMAT JSON) EXECUTE plan_check(`+nulls+`)`).Scan(&out); err != nil {
			t.Fatalf("explain %s: %v", name, err)
		}
		exec(`DEALLOCATE plan_check`)
		var plans []struct{ Plan planNode }
		if err := json.Unmarshal([]byte(out), &plans); err != nil || len(plans) != 1 {
			t.Fatalf("explain %s: %v %s", name, err, out)
		}
		plans[0].Plan.walk(math.Inf(1), func(p planNode, cost float64) {
			if !queueTables[p.Relation] {
				return
			}
			t.Logf("sql/%s.sql: %s on %s, cost %.0f", name, p.Type, p.Relation, cost)
			// a probe by key is estimated at tens; reading the backlog's
			// index whole at thousands, its table at disable_cost (1e10)
			if cost > maxProbeCost && !batchBounded[string(name)+" "+p.Relation] {
				t.Errorf("sql/%s.sql reads %s whole: %s, estimated cost %.0f\n%s", name, p.Relation, p.Type, cost, out)
			}
		})
	}
}

const maxProbeCost = 500

// batchBounded are the scans that read rows in key order up to a batch
// size given as a parameter (a generic plan guesses a tenth of the table
// for such a limit): T_TTI's oldest rows, the inbox counted up to
// MaxInbox, the journal after a cursor.
var batchBounded = map[string]bool{
	"take_tti t_tti": true, "take_tti relay_inbox": true, "journal_since relay_journal": true,
}

var queueTables = map[string]bool{"t_tti": true, "relay_inbox": true, "relay_journal": true, "t_tto": true}

type planNode struct {
	Type      string     `json:"Node Type"`
	Relation  string     `json:"Relation Name"`
	TotalCost float64    `json:"Total Cost"`
	Plans     []planNode `json:"Plans"`
}

// walk calls f with each node and what it costs: its own estimate, or the
// estimate of the Limit above it when that is lower (a scan in key order
// stops at the limit; the Limit's estimate counts whatever it must read).
func (p planNode) walk(limit float64, f func(planNode, float64)) {
	if p.Type == "Limit" {
		limit = p.TotalCost
	}
	f(p, min(p.TotalCost, limit))
	for _, c := range p.Plans {
		c.walk(limit, f)
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
