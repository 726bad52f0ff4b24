package postgres

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ctirelay/ctirelay/internal/pgtest"
	"github.com/ctirelay/ctirelay/store"
)

// TestCommandLookupIsAnIndexProbe plans Command's statements over a
// journal of 200,000 rows: the journal is reached through the BRIN index
// on inbox_id (step 11), the inbox and relay_dead by key, never read whole.
func TestCommandLookupIsAnIndexProbe(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := Open(ctx, pgtest.DSN(t), store.Options{})
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
	// A command row and a reply per inbox id, in inbox order, as relays write them.
	exec(`INSERT INTO relay_journal (at, direction, kind, agent, frame, origin, inbox_id)
	      SELECT now(), CASE WHEN g % 2 = 0 THEN 'in' ELSE 'out' END, CASE WHEN g % 2 = 0 THEN 'command' ELSE 'reply' END,
	             'ag' || (g % 500), '<x><S>$', 'erp', g / 2 FROM generate_series(2, 200001) g`)
	exec(`VACUUM ANALYZE relay_journal`)
	exec(`SET plan_cache_mode = force_generic_plan`)
	for _, name := range []query{qCommandInbox, qCommandDead, qCommandJournal} {
		exec(`PREPARE plan_check AS ` + s.q.text[name])
		var out string
		if err := conn.QueryRowContext(ctx, `EXPLAIN (FORMAT JSON) EXECUTE plan_check(50000)`).Scan(&out); err != nil {
			t.Fatalf("explain %s: %v", name, err)
		}
		exec(`DEALLOCATE plan_check`)
		var plans []struct{ Plan planNode }
		if err := json.Unmarshal([]byte(out), &plans); err != nil || len(plans) != 1 {
			t.Fatalf("explain %s: %v %s", name, err, out)
		}
		plans[0].Plan.walk(1e308, func(p planNode, cost float64) {
			if strings.HasPrefix(p.Type, "Seq Scan") {
				t.Errorf("sql/%s.sql reads %s whole:\n%s", name, p.Relation, out)
			}
		})
		if name == qCommandJournal && !strings.Contains(out, "journal_inbox") {
			t.Errorf("sql/%s.sql does not use the BRIN index on inbox_id:\n%s", name, out)
		}
	}
}
