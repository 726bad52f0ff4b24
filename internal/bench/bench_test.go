package bench

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	moderncsqlite "modernc.org/sqlite"

	"github.com/ctirelay/ctirelay/internal/pgtest"
	_ "github.com/ctirelay/ctirelay/store/postgres"
	_ "github.com/ctirelay/ctirelay/store/sqlite"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// config is the command's defaults on dsn, changed by set.
func config(dsn string, set func(*Config)) Config {
	c := Defaults()
	c.DSN = dsn
	if set != nil {
		set(&c)
	}
	return c
}

// benchJSON runs the bench with JSON output and decodes the report.
func benchJSON(t *testing.T, cfg Config) *Report {
	t.Helper()
	cfg.JSON = true
	var out, errs bytes.Buffer
	if err := Run(context.Background(), cfg, &out, &errs); err != nil {
		t.Fatalf("bench %+v: %v\nstderr: %s", cfg, err, errs.String())
	}
	var rep Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, out.String())
	}
	return &rep
}

func TestBenchBurnDownOnSQLite(t *testing.T) {
	dir := t.TempDir()
	rep := benchJSON(t, config("sqlite:"+filepath.Join(dir, "relay.db"), func(c *Config) {
		c.N, c.Sweep, c.Agents, c.Batch, c.FloorRows = 0, "300,120", 7, 50, 500
		c.CPUProfile = filepath.Join(dir, "cpu.pprof")
	}))
	if rep.Database != "sqlite" || rep.Agents != 7 || rep.Batch != 50 || rep.MaxInFlight != 7 {
		t.Errorf("report header = %+v", rep)
	}
	// The floor moves its own number of rows, not the backlog's.
	if rep.Floor == nil || rep.Floor.Rows != 500 || rep.Floor.Batch != 50 || rep.Floor.RowsPerSec <= 0 {
		t.Errorf("floor = %+v, want 500 rows moved in batches of 50", rep.Floor)
	}
	// One CPU profile per run of the sweep, each written and complete.
	wantProf := []string{filepath.Join(dir, "cpu.pprof.300"), filepath.Join(dir, "cpu.pprof.120")}
	if strings.Join(rep.Profiles, " ") != strings.Join(wantProf, " ") {
		t.Errorf("profiles = %v, want %v", rep.Profiles, wantProf)
	}
	for _, p := range wantProf {
		if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
			t.Errorf("profile %s: %v", p, err)
		}
		os.Remove(p)
	}
	if len(rep.Runs) != 2 {
		t.Fatalf("runs = %+v, want one per backlog size", rep.Runs)
	}
	for i, want := range []int64{300, 120} {
		r := rep.Runs[i]
		if r.Mode != modeBurnDown || r.Backlog != want || r.Sent != want || r.Commands != want || r.Retried != 0 {
			t.Errorf("run %d = %+v, want %d commands answered", i, r, want)
		}
		if r.PerSecond <= 0 || r.OfFloor <= 0 || r.StatementsPer <= 0 || r.TxPer <= 0 {
			t.Errorf("run %d figures = %+v", i, r)
		}
		if r.InsertToDispatch != nil || r.InsertToReply != nil {
			t.Errorf("run %d: a preloaded burn-down has no insert latencies: %+v", i, r)
		}
		if r.Store["intake"].Calls == 0 || r.Store["claim"].Calls == 0 || r.Store["settle"].Calls == 0 {
			t.Errorf("run %d store calls = %+v", i, r.Store)
		}
	}
	// The throwaway files are gone and the configured database never existed.
	left, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}

func TestBenchRateOnSQLiteReportsLatencies(t *testing.T) {
	dir := t.TempDir()
	rep := benchJSON(t, config("sqlite:"+filepath.Join(dir, "relay.db"), func(c *Config) {
		c.Rate, c.Duration, c.Agents, c.Batch, c.Poll = 500, 300*time.Millisecond, 5, 20, 10*time.Millisecond
	}))
	if rep.Floor != nil {
		t.Errorf("a rate run measures no floor: %+v", rep.Floor)
	}
	if len(rep.Runs) != 1 {
		t.Fatalf("runs = %+v", rep.Runs)
	}
	r := rep.Runs[0]
	if r.Mode != modeRate || r.OfferedRate != 500 || r.Sent == 0 || r.Commands != r.Sent {
		t.Fatalf("run = %+v, want every command offered answered", r)
	}
	for name, l := range map[string]*latencySummary{"insert to dispatch": r.InsertToDispatch, "insert to reply": r.InsertToReply} {
		if l == nil || l.Count != r.Sent || l.P50 > l.P90 || l.P90 > l.P99 || l.P99 > l.Max {
			t.Errorf("%s = %+v, want %d ordered samples", name, l, r.Sent)
		}
	}
	if r.InsertToReply.Max < r.InsertToDispatch.P50 {
		t.Errorf("replies before dispatch: %+v %+v", r.InsertToDispatch, r.InsertToReply)
	}
}

func TestBenchStreamKeepsTheRelayBusy(t *testing.T) {
	dir := t.TempDir()
	rep := benchJSON(t, config("sqlite:"+filepath.Join(dir, "relay.db"), func(c *Config) {
		c.Duration, c.Agents, c.Batch, c.FloorRows = 200*time.Millisecond, 4, 10, 50
	}))
	if rep.Floor == nil || rep.Floor.Rows != 50 || len(rep.Runs) != 1 {
		t.Fatalf("report = %+v", rep)
	}
	r := rep.Runs[0]
	if r.Mode != modeStream || r.OfferedRate != 0 || r.Sent == 0 || r.Commands != r.Sent || r.OfFloor <= 0 {
		t.Fatalf("run = %+v, want every command streamed answered", r)
	}
	if r.InsertToReply == nil || r.InsertToReply.Count != r.Sent {
		t.Errorf("insert to reply = %+v, want %d samples", r.InsertToReply, r.Sent)
	}
}

func TestBenchKeepLeavesTheAnswers(t *testing.T) {
	dir := t.TempDir()
	benchJSON(t, config("sqlite:"+filepath.Join(dir, "relay.db"), func(c *Config) { c.N, c.Agents, c.Floor, c.Keep = 40, 3, false, true }))
	files, err := filepath.Glob(filepath.Join(dir, "ctirelay-bench-*.db"))
	if err != nil || len(files) != 1 {
		t.Fatalf("kept files = %v, %v", files, err)
	}
	db, err := sql.Open("sqlite", files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("SELECT DS_TTO FROM T_TTO ORDER BY IS_TTO")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	count := map[string]int{}
	for rows.Next() {
		var f string
		if err := rows.Scan(&f); err != nil {
			t.Fatal(err)
		}
		count[f]++
	}
	// Rows 1..40 go round the agents from agent 1: 1, 4, … 40 are agent 1's.
	want := map[string]int{"<bench00000><OK>$": 13, "<bench00001><OK>$": 14, "<bench00002><OK>$": 13}
	if len(count) != len(want) {
		t.Fatalf("T_TTO = %v, want %v", count, want)
	}
	for f, n := range want {
		if count[f] != n {
			t.Fatalf("T_TTO = %v, want %v", count, want)
		}
	}
}

func TestBenchOnPostgresDropsItsSchema(t *testing.T) {
	dsn := pgtest.DSN(t)
	rep := benchJSON(t, config(dsn, func(c *Config) { c.N, c.Agents, c.Batch, c.FloorRows = 500, 20, 100, 200 }))
	if rep.Database != "postgres" || rep.Floor == nil || rep.Floor.Rows != 200 {
		t.Fatalf("report = %+v", rep)
	}
	if r := rep.Runs[0]; r.Commands != 500 || r.StatementsPer <= 0 || r.TxPer <= 0 {
		t.Errorf("run = %+v", r)
	}
	// pgtest's cluster runs on this machine: its CPU is read from /proc
	if r := rep.Runs[0]; r.ProcessCPUPer <= 0 || r.DatabaseCPUPer <= 0 {
		t.Errorf("CPU per command: process %v, database %v µs; want both read", r.ProcessCPUPer, r.DatabaseCPUPer)
	}
	db := pgtest.Open(t, dsn)
	var left int
	if err := db.QueryRow("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'ctirelay_bench_%'").Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d bench schemas left behind", left)
	}
}

func TestCheckRejectsBadSettings(t *testing.T) {
	t.Parallel()
	for name, set := range map[string]func(*Config){
		"sweep not a number": func(c *Config) { c.N, c.Sweep = 0, "10,x" },
		"sweep with a rate":  func(c *Config) { c.N, c.Sweep, c.Rate = 0, "100", 10 },
		"sweep with -n":      func(c *Config) { c.Sweep = "100,200" },
		"no commands":        func(c *Config) { c.N = 0 },
		"no agents":          func(c *Config) { c.Agents = 0 },
		"negative rate":      func(c *Config) { c.Rate = -1 },
		"no batch":           func(c *Config) { c.Batch = 0 },
		"max inbox below -1": func(c *Config) { c.MaxInbox = -2 },
		"too many agents":    func(c *Config) { c.Agents = 100000 },
	} {
		c := config("sqlite:x.db", set)
		if err := c.Check(); err == nil {
			t.Errorf("%s: Check accepted %+v", name, c)
		}
	}
	c := config("sqlite:x.db", nil)
	if err := c.Check(); err != nil || c.mode != modeBurnDown || c.MaxInFlight != c.Agents {
		t.Fatalf("defaults: %v, %+v", err, c)
	}
}

// A dialect this build lacks is refused (this test binary imports neither
// store/sqlserver nor any planned dialect).
func TestRunRefusesAnUnbuiltDialect(t *testing.T) {
	t.Parallel()
	err := Run(context.Background(), config("sqlserver://h?database=erp", nil), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "unknown kind of database (use postgres://… or sqlite:PATH)") {
		t.Fatalf("err = %v", err)
	}
}

func TestBenchTextReport(t *testing.T) {
	t.Parallel()
	rep := &Report{Database: "postgres", Agents: 1000, Batch: 1000, MaxInFlight: 1000, Poll: "100ms", CPUs: 2, LoadAverage: "0.10 0.20 0.30",
		Floor: &floorResult{Rows: 200000, Batch: 1000, Seconds: 2.5, RowsPerSec: 80000},
		Runs: []runResult{
			{Mode: modeBurnDown, Backlog: 100000, Sent: 100000, Commands: 100000, Seconds: 2, PerSecond: 50000, OfFloor: 0.625, StatementsPer: 0.0123, TxPer: 0.004, PeakRSS: 40 << 20},
			{Mode: modeBurnDown, Backlog: 200, Sent: 200, Commands: 200, Seconds: 0.6, PerSecond: 333, OfFloor: 333.0 / 80000, StatementsPer: 6.1, TxPer: 1.045},
			{Mode: modeRate, OfferedRate: 1000, Sent: 30000, Commands: 30000, Seconds: 30, PerSecond: 1000,
				InsertToDispatch: &latencySummary{Count: 30000, P50: 1.25, P90: 2, P99: 4.5, Max: 12},
				InsertToReply:    &latencySummary{Count: 30000, P50: 3, P90: 4, P99: 8, Max: 20}},
		}}
	var b strings.Builder
	rep.writeText(&b)
	for _, want := range []string{
		"ctirelay bench: postgres, 1000 agents, batch 1000, max in flight 1000, poll 100ms",
		"machine: 2 CPUs, load average 0.10 0.20 0.30 at start",
		"database floor: 80,000 rows/s (200,000 rows T_TTI→T_TTO in batches of 1000, 2.50s)",
		"burn-down  100,000   100,000     2.00      50,000       62%      0.012   0.004     40 MB",
		"burn-down      200       200     0.60         333      0.4%      6.100   1.045         -",
		"latency at 1,000 commands/s offered (ms):",
		"insert → dispatch  1.25  2.00  4.50  12.00   30,000",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
}

// With one agent the relay is serial by contract, and the report says so.
func TestBenchTextReportOneAgent(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		agents     int
		want, lack string
	}{
		{1, "postgres, 1 agent, batch", "per-agent FIFO"},
		{2, "postgres, 2 agents, batch", ""},
	} {
		rep := &Report{Database: "postgres", Agents: c.agents, Batch: 10, MaxInFlight: c.agents, Poll: "100ms"}
		if c.agents == 1 {
			rep.Notes = []string{serialNote}
		}
		var b strings.Builder
		rep.writeText(&b)
		if !strings.Contains(b.String(), c.want) {
			t.Errorf("%d agents: report lacks %q:\n%s", c.agents, c.want, b.String())
		}
		if c.lack != "" && !strings.Contains(b.String(), "note: "+serialNote) {
			t.Errorf("%d agents: report lacks the serial note:\n%s", c.agents, b.String())
		}
		if c.agents != 1 && strings.Contains(b.String(), "FIFO") {
			t.Errorf("%d agents: serial note where work is parallel:\n%s", c.agents, b.String())
		}
	}
}

func TestBenchOneAgentRunNotesSerial(t *testing.T) {
	rep := benchJSON(t, config("sqlite:"+filepath.Join(t.TempDir(), "relay.db"), func(c *Config) { c.N, c.Agents, c.Floor = 20, 1, false }))
	if len(rep.Notes) != 1 || rep.Notes[0] != serialNote {
		t.Errorf("notes = %q, want the serial note", rep.Notes)
	}
	if r := rep.Runs[0]; r.Commands != 20 {
		t.Errorf("run = %+v", r)
	}
}

func TestLatencyHistQuantiles(t *testing.T) {
	t.Parallel()
	var h latencyHist
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Millisecond)
	}
	h.record(-time.Millisecond) // a row seen before its INSERT returned counts as 0
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.9, 900 * time.Millisecond}, {0.99, 990 * time.Millisecond}, {1, time.Second}} {
		got := h.quantile(c.q)
		if got < c.want || float64(got) > float64(c.want)*1.035 {
			t.Errorf("quantile(%v) = %v, want %v within 3.5%%", c.q, got, c.want)
		}
	}
	if s := h.summary(); s.Count != 1001 || s.Max != 1000 {
		t.Errorf("summary = %+v", s)
	}
	var empty latencyHist
	if s := empty.summary(); s != (latencySummary{}) {
		t.Errorf("empty summary = %+v", s)
	}
}

func TestHistBucketsCoverEveryValue(t *testing.T) {
	t.Parallel()
	prev := -1
	for _, v := range []int64{0, 1, 31, 32, 33, 63, 64, 65, 127, 128, 1000, 1 << 20, 1<<40 + 12345, 1<<62 + 1} {
		i := histIndex(v)
		if i < prev || i >= histBuckets {
			t.Fatalf("histIndex(%d) = %d after %d", v, i, prev)
		}
		if up := histUpper(i); up < v || (v >= histSub && float64(up-v) > float64(v)/histSub) {
			t.Errorf("histUpper(histIndex(%d)) = %d", v, up)
		}
		prev = i
	}
}

func TestInsertLogLookup(t *testing.T) {
	t.Parallel()
	var l insertLog
	t0 := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	a := l.begin(1, 10, t0)
	l.commit(a, t0.Add(time.Millisecond))
	b := l.begin(11, 11, t0.Add(2*time.Millisecond)) // still being inserted
	for _, c := range []struct {
		seq  int64
		want time.Time
		ok   bool
	}{{0, time.Time{}, false}, {1, t0.Add(time.Millisecond), true}, {10, t0.Add(time.Millisecond), true},
		{11, t0.Add(2 * time.Millisecond), true}, {12, time.Time{}, false}} {
		got, ok := l.lookup(c.seq)
		if ok != c.ok || !got.Equal(c.want) {
			t.Errorf("lookup(%d) = %v, %v; want %v, %v", c.seq, got, ok, c.want, c.ok)
		}
	}
	l.commit(b, t0.Add(3*time.Millisecond))
	if got, _ := l.lookup(11); !got.Equal(t0.Add(3 * time.Millisecond)) {
		t.Errorf("lookup(11) after commit = %v", got)
	}
}

func TestSQLCounterCountsStatementsAndTransactions(t *testing.T) {
	t.Parallel()
	var c sqlCounter
	base, err := moderncsqlite.NewConnector(filepath.Join(t.TempDir(), "count.db"))
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c.wrap(base))
	defer db.Close()
	db.SetMaxOpenConns(1)
	steps := []struct {
		do             func() error
		stmts, txCount int64
	}{
		{func() error { _, err := db.Exec("CREATE TABLE t (v INTEGER)"); return err }, 1, 1},
		{func() error { _, err := db.Exec("INSERT INTO t VALUES (?)", 1); return err }, 1, 1},
		{func() error {
			tx, err := db.Begin()
			if err != nil {
				return err
			}
			if _, err := tx.Exec("INSERT INTO t VALUES (2)"); err != nil {
				return err
			}
			var n int
			if err := tx.QueryRow("SELECT count(*) FROM t").Scan(&n); err != nil {
				return err
			}
			return tx.Commit()
		}, 4, 1}, // BEGIN, INSERT, SELECT, COMMIT
		{func() error {
			st, err := db.Prepare("SELECT v FROM t WHERE v = ?")
			if err != nil {
				return err
			}
			defer st.Close()
			var v int
			return st.QueryRow(2).Scan(&v)
		}, 2, 1}, // PREPARE, then the query on its own
		{func() error {
			tx, err := db.Begin()
			if err != nil {
				return err
			}
			return tx.Rollback()
		}, 2, 0},
	}
	for i, s := range steps {
		before := c.snapshot()
		if err := s.do(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		after := c.snapshot()
		if got := after.Statements - before.Statements; got != s.stmts {
			t.Errorf("step %d: %d statements, want %d", i, got, s.stmts)
		}
		if got := after.Transactions - before.Transactions; got != s.txCount {
			t.Errorf("step %d: %d transactions, want %d", i, got, s.txCount)
		}
	}
}

func TestThousands(t *testing.T) {
	t.Parallel()
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -45000: "-45,000"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}
