package sqlserver

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-sql/civil"
	mssql "github.com/microsoft/go-mssqldb"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

var update = flag.Bool("update", false, "rewrite golden files from the current behaviour")

// goldenOptions are the name sets every statement is rendered with: the
// defaults, and every name configured (a schema, other tables and prefix,
// and ERP-numbered T_TTI/T_TTO).
var goldenOptions = []struct {
	name string
	opts store.Options
}{
	{"default", store.Options{}},
	{"custom", store.Options{Schema: "cti", InboundTable: "ERP_IN", OutboundTable: "ERP_OUT", Prefix: "ctr_", ExplicitIDs: true}},
}

// checkGolden compares got with testdata/name, rewriting it with -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from what the dialect renders (review, then go test -update):\n%s", path, firstDiff(string(want), got))
	}
}

func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\n  want %q\n  got  %q", i+1, wl, gl)
		}
	}
	return ""
}

// TestStatementsGolden pins the text of every statement of sql/*.sql as
// sent: fixed ones as they are, multi-row ones for one and two rows (the
// tuple repeats, placeholders numbered on), with each name set.
func TestStatementsGolden(t *testing.T) {
	t.Parallel()
	for _, g := range goldenOptions {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			opts, err := g.opts.WithDefaults()
			if err != nil {
				t.Fatal(err)
			}
			q, err := loadQueries(opts.Names())
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for _, name := range slices.Sorted(maps.Keys(q.text)) {
				fmt.Fprintf(&b, "-- ==== %s.sql\n%s\n", name, strings.TrimRight(q.text[name], "\n"))
			}
			for _, name := range slices.Sorted(maps.Keys(q.batches)) {
				bt := q.batches[name]
				fmt.Fprintf(&b, "-- ==== %s.sql (multi-row: %d fixed + %d per row, at most %d rows a statement)\n",
					name, bt.b.Fixed, bt.b.Params, bt.maxRows)
				for _, n := range []int{1, 2} {
					fmt.Fprintf(&b, "-- ---- %d row(s)\n%s\n", n, strings.TrimRight(bt.SQL(n), "\n"))
				}
			}
			for i, f := range floor(opts.Names()) {
				fmt.Fprintf(&b, "-- ==== bench floor %d\n%s\n", i+1, f)
			}
			checkGolden(t, "statements."+g.name+".sql", b.String())
		})
	}
}

// TestMigrationsGolden pins what `ctirelay migrate --print` shows a DBA for
// each name set: the version table, then every step as it will run.
func TestMigrationsGolden(t *testing.T) {
	t.Parallel()
	for _, g := range goldenOptions {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			opts, err := g.opts.WithDefaults()
			if err != nil {
				t.Fatal(err)
			}
			names := opts.Names()
			steps, err := Migrations.Steps()
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			fmt.Fprintf(&b, "-- version table\n%s\n", strings.TrimSpace(Migrations.BootstrapSQL(names)))
			fmt.Fprintf(&b, "-- exists: %s\n-- is applied: %s\n-- record: %s\n", Migrations.Exists,
				Migrations.IsApplied, Migrations.Record)
			for _, m := range steps {
				fmt.Fprintf(&b, "\n-- %04d %s\n%s\n", m.Version, m.Name, strings.TrimSpace(m.Rendered(names)))
			}
			checkGolden(t, "migrations."+g.name+".sql", b.String())
		})
	}
}

// sqlType names the SQL Server type the driver sends a Go argument as.
func sqlType(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case mssql.VarChar:
		return "varchar"
	case string:
		return "nvarchar"
	case int32:
		return "int"
	case int64:
		return "bigint"
	case bool:
		return "bit"
	case civil.DateTime:
		return "datetime2"
	case mssql.NullDateTime:
		if !v.Valid {
			return "datetime2 NULL"
		}
		return "datetime2"
	case sql.NullInt64:
		return "bigint NULL"
	case sql.NullString:
		return "nvarchar NULL"
	case *mssql.ReturnStatus:
		return "return status"
	}
	return fmt.Sprintf("UNEXPECTED %T", v)
}

// trace renders the requests: the statement's file and each argument's type.
func trace(calls []call) string {
	var b strings.Builder
	for _, c := range calls {
		types := make([]string, len(c.args))
		for i, a := range c.args {
			if a.Name != "" {
				types[i] = "@" + a.Name + " " + sqlType(a.Value)
			} else {
				types[i] = sqlType(a.Value)
			}
		}
		fmt.Fprintf(&b, "  %s(%s)\n", c.name, strings.Join(types, ", "))
	}
	return b.String()
}

var (
	t0    = time.Date(2025, 3, 14, 9, 26, 53, 589793000, time.UTC)
	later = t0.Add(time.Minute)
)

// scripted answers each statement plausibly, so every call of the store
// goes through all of its statements.
func scripted(c call) reply {
	job := []driver.Value{int64(41), "erp", "7", "jose", "L", "<jose><L><ON>$", int64(1), t0}
	switch c.name {
	case "sp_getapplock", "sp_releaseapplock":
		return reply{status: 0}
	case string(qAnyTTI):
		return reply{rows: [][]driver.Value{{int64(1)}}}
	case string(qInboxDepth):
		return reply{rows: [][]driver.Value{{int64(2)}}}
	case string(qTakeTTI):
		return reply{rows: [][]driver.Value{{int64(7), "<jose><L><ON>$"}, {int64(8), "<maria><S>$"},
			{int64(9), "<jose><ZZ>$"}, {int64(10), "garbage"}}}
	case string(bBusy):
		var rows [][]driver.Value
		for _, a := range c.args {
			rows = append(rows, []driver.Value{a.Value, int64(0)})
		}
		return reply{rows: rows}
	case string(bInbox):
		var rows [][]driver.Value
		for i := 0; i < (len(c.args)-1)/10; i++ {
			rows = append(rows, []driver.Value{int64(101 + i)})
		}
		return reply{rows: rows}
	case string(bRemove):
		var rows [][]driver.Value
		for i := 0; i+3 < len(c.args); i += 4 {
			rows = append(rows, []driver.Value{c.args[i+1].Value, c.args[i+2].Value, int64(c.args[i+3].Value.(int32))})
		}
		return reply{rows: rows}
	case string(bRetry), string(bRetryDead):
		return reply{rows: [][]driver.Value{{int64(1)}}}
	case string(qClaim), string(qReclaim), string(qReclaimDead), string(bLeaseNext):
		return reply{rows: [][]driver.Value{job}}
	case string(qJournalHead):
		return reply{rows: [][]driver.Value{{int64(0)}}}
	case string(qStatus):
		return reply{rows: [][]driver.Value{{int64(1), int64(2), int64(3), int64(4), int64(5), int64(6), int64(7), int64(8), int64(9)}}}
	}
	return reply{}
}

// TestTrafficGolden pins, for every Store method, the requests it sends:
// which statement, and the SQL Server type of each parameter. Parameters
// are typed to their columns: varchar for the relay's own words, nvarchar
// for text, int for int columns, bigint for ids, datetime2 for times.
func TestTrafficGolden(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, f := fakeStore(t, store.Options{}, scripted)
	lease := relay.ClaimRequest{Owner: "r1#1", Limit: 10, Now: t0, LeaseUntil: later}
	job := relay.Job{ID: 41, Source: "erp", Ref: "7", Agent: "jose", Verb: "L", Frame: "<jose><L><ON>$", Attempts: 1, EnqueuedAt: t0, Owner: "r1#1"}
	retry := job
	retry.ID, retry.Agent = 42, "maria"
	steps := []struct {
		name string
		run  func() error
	}{
		{"Intake", func() error {
			_, _, err := s.Intake(ctx, relay.IntakeRequest{Limit: 10, Now: t0, MaxInbox: 100}, lease)
			return err
		}},
		{"Enqueue", func() error {
			_, err := s.Enqueue(ctx, []relay.Inbound{{Source: relay.SourceCLI, Ref: "c1", Raw: "<ana><S>$"}}, t0, 0)
			return err
		}},
		{"Claim", func() error { _, err := s.Claim(ctx, lease); return err }},
		{"Reclaim", func() error { _, err := s.Reclaim(ctx, lease); return err }},
		{"ReclaimDead", func() error {
			_, err := s.ReclaimDead(ctx, relay.ReclaimDeadRequest{Owner: "r1#2", Node: "r1", Limit: 5, LeaseUntil: later})
			return err
		}},
		{"Extend", func() error { return s.Extend(ctx, "r1#1", later) }},
		{"Release", func() error { return s.Release(ctx, "r1#1") }},
		{"Settle", func() error {
			_, _, err := s.Settle(ctx, []relay.Outcome{
				{Job: job, Kind: relay.Done, Replies: []relay.Frame{{"jose", "L", "OK"}}},
				{Job: retry, Kind: relay.Retry, Reason: "timeout", NotBefore: later},
			}, later, lease)
			return err
		}},
		{"Publish", func() error { return s.Publish(ctx, []relay.Frame{{"jose", "E", "RING"}}, t0) }},
		{"Journal", func() error { _, err := s.Journal(ctx, 5, 10); return err }},
		{"JournalSince", func() error { _, err := s.JournalSince(ctx, 5, []string{"reply", "event"}, 10); return err }},
		{"JournalHead", func() error { _, err := s.JournalHead(ctx); return err }},
		{"DeadLetters", func() error { _, err := s.DeadLetters(ctx, 0, 10); return err }},
		{"RetryDead", func() error { _, err := s.RetryDead(ctx, []int64{3, 1, 3}, t0); return err }},
		{"DropDead", func() error { _, err := s.DropDead(ctx, []int64{4}); return err }},
		{"Abandon", func() error {
			_, err := s.Abandon(ctx, []int64{7, 5}, relay.RequesterGone("connection closed"))
			return err
		}},
		{"Status", func() error { _, err := s.Status(ctx, t0); return err }},
		{"Agents", func() error { _, err := s.Agents(ctx, t0); return err }},
		{"Cursor", func() error { _, _, err := s.Cursor(ctx, "webhook"); return err }},
		{"AdvanceCursors", func() error {
			return s.AdvanceCursors(ctx, []relay.Cursor{{Name: "b", Position: 3}, {Name: "a", Position: 9}, {Name: "b", Position: 5}}, t0)
		}},
		{"Heartbeat", func() error {
			return s.Heartbeat(ctx, relay.Node{ID: "r1", Host: "h", PID: 42, Version: "v", StartedAt: t0}, later)
		}},
		{"Leave", func() error { return s.Leave(ctx, "r1") }},
		{"Nodes", func() error { _, err := s.Nodes(ctx); return err }},
		{"ERPColumns", func() error { _, err := s.ERPColumns(ctx); return err }},
		{"InFlight", func() error { _, err := s.InFlight(ctx, []string{"Jose", "jose", "ana"}, "r1#1"); return err }},
		{"TryLock", func() error {
			held, _, release, err := s.TryLock(ctx, relay.LockMonitor)
			if err == nil && !held {
				return fmt.Errorf("not held")
			}
			release()
			return err
		}},
	}
	var b strings.Builder
	for _, st := range steps {
		before := len(f.Calls())
		if err := st.run(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		calls := f.Calls()[before:]
		fmt.Fprintf(&b, "%s\n%s", st.name, trace(calls))
		for _, c := range calls {
			if c.name == "?" {
				t.Errorf("%s sent a statement of no sql/*.sql file:\n%s", st.name, c.query)
			}
			for _, a := range c.args {
				if strings.HasPrefix(sqlType(a.Value), "UNEXPECTED") {
					t.Errorf("%s: %s: argument %v of type %T, whose SQL type the store does not choose", st.name, c.name, a.Value, a.Value)
				}
			}
		}
	}
	checkGolden(t, "traffic.txt", b.String())
}
