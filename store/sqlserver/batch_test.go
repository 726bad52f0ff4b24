package sqlserver

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strings"
	"testing"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

// sqlServerMaxParams is the server's bound on one request's parameters.
const sqlServerMaxParams = 2100

// Every multi-row statement, at its largest, stays under SQL Server's 2,100
// parameters and under lock escalation's rows a statement.
func TestBatchesWithinTheLimits(t *testing.T) {
	t.Parallel()
	opts, _ := store.Options{}.WithDefaults()
	q, err := loadQueries(opts.Names())
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range q.batches {
		n := b.maxRows
		params := strings.Count(b.SQL(n), "@p")
		if want := b.b.Fixed + n*b.b.Params; params < want {
			t.Errorf("%s: %d placeholders in the text, want at least %d", name, params, want)
		}
		if total := b.b.Fixed + n*b.b.Params; total >= sqlServerMaxParams || n > maxLockRows {
			t.Errorf("%s: %d rows of %d parameters (+%d) = %d", name, n, b.b.Params, b.b.Fixed, total)
		}
		if total := b.b.Fixed + 2*n*b.b.Params; total <= maxParams && 2*n <= maxLockRows {
			t.Errorf("%s: %d rows a statement, but %d would fit", name, n, 2*n)
		}
		if !strings.Contains(b.SQL(n), fmt.Sprintf("@p%d", b.b.Fixed+n*b.b.Params)) {
			t.Errorf("%s: the last parameter is not numbered @p%d", name, b.b.Fixed+n*b.b.Params)
		}
	}
	if got := rowsFor(0, 4); got != 256 {
		t.Errorf("rowsFor(0, 4) = %d, want 256", got)
	}
	if got := rowsFor(0, 1); got != 512 {
		t.Errorf("rowsFor(0, 1) = %d, want 512 (at most %d rows)", got, maxLockRows)
	}
}

// Large calls are split: no request carries 2,100 parameters or more, and
// no statement takes, changes or leases more than maxLockRows rows.
func TestLargeCallsAreSplit(t *testing.T) {
	t.Parallel()
	const n = 5000
	ctx := context.Background()
	ttiLeft := n
	s, f := fakeStore(t, store.Options{}, func(c call) reply {
		switch c.name {
		case string(qAnyTTI):
			return reply{rows: [][]driver.Value{{int64(1)}}}
		case string(qTakeTTI):
			want := int(c.args[0].Value.(int64))
			var rows [][]driver.Value
			for i := 0; i < want && ttiLeft > 0; i++ {
				rows = append(rows, []driver.Value{int64(n - ttiLeft + 1), fmt.Sprintf("<a%d><S>$", ttiLeft%300)})
				ttiLeft--
			}
			return reply{rows: rows}
		}
		return scripted(c)
	})
	taken, _, err := s.Intake(ctx, relay.IntakeRequest{Limit: n, Now: t0}, relay.ClaimRequest{Owner: "r", Limit: n, Now: t0, LeaseUntil: later})
	if err != nil || taken != n {
		t.Fatalf("Intake = %d, %v", taken, err)
	}
	outcomes := make([]relay.Outcome, n)
	for i := range outcomes {
		outcomes[i] = relay.Outcome{Job: relay.Job{ID: int64(i + 1), Agent: fmt.Sprintf("a%d", i), Owner: "r", Attempts: 1, Source: "erp", Ref: "1"},
			Kind: relay.Done, Replies: []relay.Frame{{"a", "S", "OK"}}}
		if i%2 == 1 {
			outcomes[i].Kind, outcomes[i].NotBefore = relay.Retry, later
		}
	}
	if _, _, err := s.Settle(ctx, outcomes, later, relay.ClaimRequest{Owner: "r", Limit: n, Now: later, LeaseUntil: later}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Claim(ctx, relay.ClaimRequest{Owner: "r", Limit: n, Now: t0, LeaseUntil: later}); err != nil {
		t.Fatal(err)
	}
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64(i + 1)
	}
	if _, err := s.RetryDead(ctx, ids, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DropDead(ctx, ids); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, c := range f.Calls() {
		seen[c.name]++
		if len(c.args) >= sqlServerMaxParams {
			t.Errorf("%s: %d parameters", c.name, len(c.args))
		}
		switch c.name {
		case string(qTakeTTI), string(qClaim):
			limit := c.args[0].Value
			if c.name == string(qClaim) {
				limit = c.args[2].Value
			}
			if limit.(int64) > maxLockRows {
				t.Errorf("%s: TOP (%d)", c.name, limit)
			}
		case string(bInbox), string(bRemove), string(bRetry), string(bJournal), string(bRetryDead), string(bDropDead):
			b := s.q.batch(query(c.name))
			if rows := (len(c.args) - b.b.Fixed) / b.b.Params; rows > maxLockRows {
				t.Errorf("%s: %d rows", c.name, rows)
			}
		}
	}
	for _, name := range []query{qTakeTTI, bInbox, bRemove, bRetry, bJournal, bRetryDead, bDropDead} {
		if seen[string(name)] < 2 {
			t.Errorf("%s ran %d times for %d rows: not split", name, seen[string(name)], n)
		}
	}
}
