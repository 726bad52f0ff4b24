package main

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
)

// orderConfig is a relay on a slow simulated switch: a command stays at the
// switch long enough for the rows after it to be taken meanwhile.
const orderConfig = `
engine:
  poll_interval: 20ms
switch:
  sim:
    think_time: 400ms
`

// checkRepliesInOrder logs ana on, then inserts a dial, a refused row and a
// status request together: T_TTO holds their answers in that order (Tactium
// replies carry no request id, so an ERP pairs them with its rows by order),
// whatever the dialect.
func checkRepliesInOrder(t *testing.T, db *sql.DB, rebind func(string) string) {
	t.Helper()
	if _, err := db.Exec(`INSERT INTO T_TTI (DS_TTI) VALUES ('<ana><L><ON>$')`); err != nil {
		t.Fatal(err)
	}
	replies := func() []string {
		var out []string
		for _, f := range column(t, db, "SELECT DS_TTO FROM T_TTO ORDER BY IS_TTO") {
			// the dial's call events may come in between: only answers count
			if strings.HasPrefix(f, "<ana><OK>") || strings.HasPrefix(f, "<ana><ERR>") || strings.HasPrefix(f, "<ana><S>") {
				out = append(out, f)
			}
		}
		return out
	}
	wait.Within(t, 20*time.Second, "ana's logon", func() bool { return len(replies()) == 1 })
	if _, err := db.Exec(rebind(`INSERT INTO T_TTI (DS_TTI) VALUES (?), (?), (?)`),
		"<ana><A><><40050500><>$", "<ana><Q>$", "<ana><S>$"); err != nil {
		t.Fatal(err)
	}
	wait.Within(t, 20*time.Second, "three more answers", func() bool { return len(replies()) >= 4 })
	got := replies()
	want := []string{"<ana><OK>$", "<ana><OK>$", `<ana><ERR><UNKNOWN_VERB><unknown verb "Q">$`}
	if len(got) != 4 || !slices.Equal(got[:3], want) || !strings.HasPrefix(got[3], "<ana><S><") {
		t.Fatalf("T_TTO answers = %q, want %q then <ana><S>…", got, want)
	}
	dead := column(t, db, "SELECT coalesce(verb, '-') || ' ' || code || ' ' || frame FROM relay_dead ORDER BY id")
	if !slices.Equal(dead, []string{"- UNKNOWN_VERB <ana><Q>$"}) {
		t.Fatalf("relay_dead = %q, want the refused row, with no verb", dead)
	}
	if n := count(t, db, "SELECT count(*) FROM relay_inbox"); n != 0 {
		t.Fatalf("%d rows left in relay_inbox", n)
	}
}

func TestE2ERefusedRowAnsweredInOrderOnSQLite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := writeFile(t, filepath.Join(dir, "ctirelay.yaml"), orderConfig)
	path := filepath.Join(dir, "order.db")
	p := startRelay(t, dir, "--db", "sqlite:"+path, "--config", cfg)
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	checkRepliesInOrder(t, db, func(q string) string { return q })
	p.stop()
}

func TestE2ERefusedRowAnsweredInOrderOnPostgres(t *testing.T) {
	t.Parallel()
	r := newPGRig(t, orderConfig)
	p := r.relays(1)[0]
	checkRepliesInOrder(t, r.db, func(q string) string {
		for i := 1; strings.Contains(q, "?"); i++ {
			q = strings.Replace(q, "?", fmt.Sprintf("$%d", i), 1)
		}
		return q
	})
	p.stop()
}
