package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
)

// TestE2EQuickstartOnSQLite is the README's walk-through: run with no
// configuration, insert rows as an ERP would, read the answers.
func TestE2EQuickstartOnSQLite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	relay := startRelay(t, dir) // the embedded default: ./ctirelay.db + sim
	db := relayDB(t, dir)
	tto := func() []string { return outbound(t, db) }

	// Positional insert with the ERP's own id, then a generated one.
	if _, err := db.Exec(`INSERT INTO T_TTI VALUES (1, '<jose><L><ON>$')`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO T_TTI (DS_TTI) VALUES ('<jose><S>$')`); err != nil {
		t.Fatal(err)
	}
	wait.Within(t, 10*time.Second, "two replies in T_TTO", func() bool { return len(tto()) == 2 })
	if got, want := tto(), []string{"<jose><OK>$", "<jose><S><1>$"}; !slices.Equal(got, want) {
		t.Fatalf("T_TTO = %q, want %q", got, want)
	}

	// A dial: the reply, then the call's events from the simulated switch.
	if _, err := db.Exec(`INSERT INTO T_TTI (DS_TTI) VALUES ('<jose><A><85><40050500><>$')`); err != nil {
		t.Fatal(err)
	}
	wait.Within(t, 10*time.Second, "the dial's reply and A event", func() bool { return len(tto()) >= 4 })
	got := tto()
	if got[2] != "<jose><OK>$" || !strings.HasPrefix(got[3], "<jose><A><") || !strings.Contains(got[3], "<85><40050500>") {
		t.Fatalf("after the dial T_TTO = %q", got)
	}

	// Bad input: each gets a reason in relay_dead and an ERR, and the queue moves on.
	for _, bad := range []string{"<jose><XYZ>$", "<><S>$", "<jose><L><MAYBE>$", "not a frame", "<jose><" + strings.Repeat("9", 100_000) + ">$"} {
		if _, err := db.Exec(`INSERT INTO T_TTI (DS_TTI) VALUES (?)`, bad); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`INSERT INTO T_TTI (DS_TTI) VALUES (CAST(X'3C6A6F73653E3C533E3CFF3E24' AS TEXT))`); err != nil { // invalid UTF-8
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO T_TTI (DS_TTI) VALUES ('<maria><S>$')`); err != nil {
		t.Fatal(err)
	}
	wait.Within(t, 10*time.Second, "maria's reply after the bad rows", func() bool { return slices.Contains(tto(), "<maria><S><0>$") })
	var errs []string
	for _, s := range tto() {
		if strings.Contains(s, "<ERR>") {
			errs = append(errs, s)
		}
	}
	for _, code := range []string{"UNKNOWN_VERB", "BAD_ARGS", "TOO_LARGE", "ENCODING"} {
		if !slices.ContainsFunc(errs, func(s string) bool { return strings.HasPrefix(s, "<jose><ERR><"+code+">") }) {
			t.Errorf("no <jose><ERR><%s> reply among %q", code, errs)
		}
	}
	if n := count(t, db, "SELECT count(*) FROM relay_dead"); n != 6 {
		t.Errorf("relay_dead holds %d rows, want 6", n)
	}
	if n := count(t, db, "SELECT count(*) FROM T_TTI"); n != 0 {
		t.Errorf("T_TTI still holds %d rows", n)
	}

	// The operator's tools against the running relay.
	out, errOut, code := ctl(t, dir, "send", "<maria><L><ON>$")
	if code != 0 || strings.TrimSpace(out) != "<maria><OK>$" {
		t.Fatalf("send: code %d, out %q, err %q", code, out, errOut)
	}
	// Several frames: replies in argument order; an ERR reply exits 1.
	out, errOut, code = ctl(t, dir, "send", "<maria><S>$", "<maria><L><OFF>$", "<maria><S>$")
	if code != 0 || strings.TrimSpace(out) != "<maria><S><1>$\n<maria><OK>$\n<maria><S><0>$" {
		t.Fatalf("send of three frames: code %d, out %q, err %q", code, out, errOut)
	}
	out, _, code = ctl(t, dir, "send", "<maria><D>$")
	if code != 1 || !strings.HasPrefix(out, "<maria><ERR>") {
		t.Fatalf("send answered ERR: code %d, out %q", code, out)
	}
	out, _, code = ctl(t, dir, "send", "--wait", "0", "<maria><NOPE>$")
	if code != 1 || !strings.Contains(out, "UNKNOWN_VERB") {
		t.Fatalf("send of an unknown verb: code %d, out %q", code, out)
	}
	out, _, code = ctl(t, dir, "status", "--json", "--agents")
	var st statusJSON
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || st.Dead != 7 || st.Inbox != 0 || len(st.Agents) < 2 {
		t.Fatalf("status: code %d, %q", code, out)
	}
	// The running relay is listed in relay_node, alive.
	host, _ := os.Hostname()
	pid := relay.cmd.Process.Pid
	if len(st.Nodes) != 1 || st.Nodes[0].PID != pid || st.Nodes[0].Host != host || st.Nodes[0].Stale ||
		!strings.HasPrefix(st.Nodes[0].ID, fmt.Sprintf("%s-%d-", host, pid)) || st.Nodes[0].Version == "" || st.StaleAfterS != 30 {
		t.Fatalf("status nodes while the relay runs:\n%s", out)
	}
	out, _, code = ctl(t, dir, "status")
	if code != 0 || !strings.Contains(out, "NODE") || !strings.Contains(out, st.Nodes[0].ID+"  "+host) || strings.Contains(out, "(stale)") {
		t.Fatalf("status text while the relay runs: code %d\n%s", code, out)
	}
	out, _, code = ctl(t, dir, "dead", "list")
	if code != 0 || !strings.Contains(out, "UNKNOWN_VERB") || !strings.Contains(out, "TOO_LARGE") {
		t.Fatalf("dead list: code %d\n%s", code, out)
	}
	// The unknown verb's row: its ERR code in the CODE column, and no retry
	// (refused at intake, it never became a command).
	lines := strings.Split(out, "\n")
	if h := strings.Fields(lines[0]); !slices.Equal(h, []string{"ID", "DIED", "SOURCE", "AGENT", "CODE", "RETRY", "ATTEMPTS", "REASON", "FRAME"}) {
		t.Fatalf("dead list header %q", h)
	}
	xyz := slices.IndexFunc(lines, func(l string) bool { return strings.HasSuffix(l, "<jose><XYZ>$") })
	if f := strings.Fields(lines[max(xyz, 0)]); xyz < 0 || f[2] != "erp" || f[3] != "jose" || f[4] != "UNKNOWN_VERB" || f[5] != "no" {
		t.Fatalf("dead list: no erp/jose/UNKNOWN_VERB/no row for <jose><XYZ>$\n%s", out)
	}
	out, _, code = ctl(t, dir, "dead", "list", "--json")
	if code != 0 || !strings.Contains(out, `"code":"UNKNOWN_VERB"`) || !strings.Contains(out, `"retryable":false`) || strings.Contains(out, `"retryable":true`) {
		t.Fatalf("dead list --json: code %d\n%s", code, out)
	}
	firstDead := column(t, db, "SELECT CAST(min(id) AS TEXT) FROM relay_dead")[0]
	out, _, code = ctl(t, dir, "dead", "drop", firstDead)
	if code != 0 || strings.TrimSpace(out) != "1 of 1 dead letters dropped" {
		t.Fatalf("dead drop: code %d, %q", code, out)
	}
	// Rows refused at intake never became commands, so there is nothing to retry.
	out, _, code = ctl(t, dir, "dead", "retry", "--all")
	if code != 0 || strings.TrimSpace(out) != "0 of 6 dead letters re-enqueued" {
		t.Fatalf("dead retry --all: code %d, %q", code, out)
	}
	out, _, code = ctl(t, dir, "tail", "--from", "0", "-f=false", "--agent", "maria")
	if code != 0 || !strings.Contains(out, "<maria><S>$") || !strings.Contains(out, "<maria><OK>$") {
		t.Fatalf("tail: code %d\n%s", code, out)
	}

	// SQLite allows one relay per file, and says so.
	_, errOut, code = ctl(t, dir, "run")
	if code != 1 || !strings.Contains(errOut, "another ctirelay is already running") {
		t.Fatalf("second relay: code %d, stderr %q", code, errOut)
	}

	relay.stop()
	if log := relay.logText(); !strings.Contains(log, "relay engine stopped") {
		t.Fatalf("no clean shutdown in the log:\n%s", log)
	}
	// A clean shutdown removes the relay's row.
	out, _, code = ctl(t, dir, "status", "--json")
	st = statusJSON{}
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || st.Nodes == nil || len(st.Nodes) != 0 {
		t.Fatalf("status nodes after the relay stopped: code %d\n%s", code, out)
	}
}

// statusJSON is what the tests read of `ctirelay status --json`.
type statusJSON struct {
	Dead   int `json:"dead"`
	Inbox  int `json:"inbox"`
	Agents []struct {
		Agent string `json:"agent"`
	} `json:"agents"`
	Nodes []struct {
		ID      string `json:"id"`
		Host    string `json:"host"`
		PID     int    `json:"pid"`
		Version string `json:"version"`
		Stale   bool   `json:"stale"`
	} `json:"nodes"`
	StaleAfterS float64 `json:"stale_after_s"`
}

func TestE2EMigratePrintThenApply(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out, errOut, code := ctl(t, dir, "migrate", "--print", "--db", "sqlite:q.db")
	if code != 0 || !strings.Contains(out, "CREATE TABLE IF NOT EXISTS T_TTI") || !strings.Contains(out, "relay_inbox") {
		t.Fatalf("migrate --print: code %d, stderr %q\n%s", code, errOut, out)
	}
	cfg := writeFile(t, filepath.Join(dir, "c.yaml"), "database:\n  dsn: sqlite:q.db\n  migrate: \"off\"\n")
	_, errOut, code = ctl(t, dir, "run", "--config", cfg)
	if code != 1 || !strings.Contains(errOut, "pending migrations") {
		t.Fatalf("run with migrate off on a fresh database: code %d, %q", code, errOut)
	}
	out, _, code = ctl(t, dir, "migrate", "--config", cfg)
	if code != 0 || !strings.Contains(out, "applied 0001 init") {
		t.Fatalf("migrate: code %d, %q", code, out)
	}
	out, _, _ = ctl(t, dir, "migrate", "--config", cfg)
	if !strings.Contains(out, "up to date") {
		t.Fatalf("second migrate: %q", out)
	}
	_, errOut, code = ctl(t, dir, "run", "--config", writeFile(t, filepath.Join(dir, "bad.yaml"), "engine:\n  max_inflight: 3\n"))
	if code != 1 || !strings.Contains(errOut, `unknown key "max_inflight" in engine`) {
		t.Fatalf("bad config: code %d, %q", code, errOut)
	}
}
