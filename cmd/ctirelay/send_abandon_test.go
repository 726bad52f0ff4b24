package main

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
)

// An interrupted `ctirelay send` (Ctrl-C while it waits) printed no id: its
// dial, still queued, must never reach the switch later (DESIGN §4).
func TestSendInterruptedAbandonsItsDial(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dsn := "sqlite:" + filepath.Join(dir, "relay.db")
	if code, out, errs := cliRun(t, "migrate", "--db", dsn); code != 0 {
		t.Fatalf("migrate: %d %s %s", code, out, errs)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "relay.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	verb := func() string {
		var v string
		if err := db.QueryRow(`SELECT verb FROM relay_inbox`).Scan(&v); err != nil {
			return ""
		}
		return v
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		env, _, _ := simEnv()
		done <- mainCode(ctx, env, []string{"send", "--db", dsn, "--wait", "60s", "<jose><A><85><40050500><>$"})
	}()
	wait.For(t, "the dial queued", func() bool { return verb() != "" })
	cancel()
	if code := <-done; code == 0 {
		t.Fatal("interrupted send exited 0")
	}
	if v := verb(); !strings.Contains(v, relay.CodeRequesterGone) {
		t.Fatalf("queued dial's verb %q, want it marked %s", v, relay.CodeRequesterGone)
	}
}
