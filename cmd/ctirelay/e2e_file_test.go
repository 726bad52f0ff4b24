package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
)

// spoolDirs makes a Tx and an Rx directory.
func spoolDirs(t *testing.T) (tx, rx string) {
	t.Helper()
	base := t.TempDir()
	tx, rx = filepath.Join(base, "CTITX"), filepath.Join(base, "CTIRX")
	for _, d := range []string{tx, rx} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return tx, rx
}

func fileBridgeConfig(tx, rx, onStart string) string {
	return fmt.Sprintf(`
switch:
  sim:
    inbound_per_minute: 0
    dialer_per_minute: 0
bridges:
  file:
    tx_dir: %s
    rx_dir: %s
    scan_interval: 10ms
    rename_wait: 10ms
    incomplete_timeout: 300ms
    max_file_bytes: 200
    on_start: %s
`, tx, rx, onStart)
}

// protheusDrop writes a request as SIGACTI should: a temporary name, then
// the rename.
func protheusDrop(t *testing.T, tx, user, text string) {
	t.Helper()
	tmp := filepath.Join(tx, user+".tmp")
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(tx, user+".CTI")); err != nil {
		t.Fatal(err)
	}
}

// protheusRead waits for <user>.CTI in Rx, takes it and returns its frames.
func protheusRead(t *testing.T, rx, user string) []string {
	t.Helper()
	path := filepath.Join(rx, user+".CTI")
	var text []byte
	wait.Within(t, 20*time.Second, "the answer "+path, func() bool {
		var err error
		text, err = os.ReadFile(path)
		return err == nil
	})
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(text), "\r\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

func expectAnswer(t *testing.T, rx, user string, want ...string) {
	t.Helper()
	var got []string
	for len(got) < len(want) {
		got = append(got, protheusRead(t, rx, user)...)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s.CTI = %q, want %q", user, got, want)
	}
}

// TestE2EFileBridge runs the binary with the file bridge on SQLite and the
// simulated switch: leftovers purged (and retried from relay_dead), requests
// written whole or slowly in pieces answered in Rx, every bad input
// dead-lettered and answered, and a restart that loses and repeats nothing.
func TestE2EFileBridge(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tx, rx := spoolDirs(t)
	// Left from before: a request (purged at start) and a temporary file of
	// the bridge's own (removed).
	if err := os.WriteFile(filepath.Join(tx, "000009.CTI"), []byte("<old><L><ON>$"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rx, "ctirelay-000001-123.tmp"), []byte("<x><OK>$"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := writeFile(t, filepath.Join(dir, "ctirelay.yaml"), fileBridgeConfig(tx, rx, "purge"))
	p := startRelay(t, dir, "--config", cfg)
	db := relayDB(t, dir)
	wait.Within(t, 20*time.Second, "the leftover purged", func() bool {
		_, err := os.Stat(filepath.Join(tx, "000009.CTI"))
		return os.IsNotExist(err)
	})
	if _, err := os.Stat(filepath.Join(rx, "ctirelay-000001-123.tmp")); !os.IsNotExist(err) {
		t.Fatalf("stale temporary file still there: %v", err)
	}
	purged := column(t, db, "SELECT id || ' ' || agent || ' ' || frame FROM relay_dead WHERE reason = 'purged at start'")
	if len(purged) != 1 || !strings.HasSuffix(purged[0], " old <old><L><ON>$") {
		t.Fatalf("purged = %q", purged)
	}
	// A DBA retries it: the answer goes to its user's file.
	if out, errOut, code := ctl(t, dir, "dead", "retry", "--config", cfg, strings.Fields(purged[0])[0]); code != 0 {
		t.Fatalf("dead retry: %d %s %s", code, out, errOut)
	}
	expectAnswer(t, rx, "000009", "<old><OK>$")

	// Whole files, temp + rename.
	protheusDrop(t, tx, "000001", "<jose><L><ON>$\r\n<jose><S>$\r\n")
	expectAnswer(t, rx, "000001", "<jose><OK>$", "<jose><S><1>$")
	// Written slowly in pieces, straight under its final name.
	f, err := os.Create(filepath.Join(tx, "000002.CTI"))
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("<ana><L>")
	time.Sleep(100 * time.Millisecond) // several scans see the half file
	f.WriteString("<ON>$")
	f.Close()
	expectAnswer(t, rx, "000002", "<ana><OK>$")

	// Bad input.
	writeFile(t, filepath.Join(tx, "000003.CTI"), "<bob><S>$<bob><ZZZ>$")                     // unknown verb: refused at admission
	writeFile(t, filepath.Join(tx, "000004.CTI"), "<jose><S>$")                               // jose is 000001's
	writeFile(t, filepath.Join(tx, "000005.CTI"), "<carl><S><"+strings.Repeat("x", 300)+">$") // over max_file_bytes
	writeFile(t, filepath.Join(tx, "000006.CTI"), "<dan><S><\xff>$")                          // not utf-8
	writeFile(t, filepath.Join(tx, "000007.CTI"), "<eve><S")                                  // never completed
	writeFile(t, filepath.Join(tx, "000008.CTI"), "")                                         // empty
	for _, n := range []string{"CON.CTI", "a.b.CTI", "notes.txt"} {
		writeFile(t, filepath.Join(tx, n), "<zed><S>$")
	}
	expectAnswer(t, rx, "000003", "<bob><S><0>$", `<bob><ERR><UNKNOWN_VERB><unknown verb "ZZZ">$`)
	expectAnswer(t, rx, "000004", "<jose><ERR><REJECTED><login jose is bound to another user>$")
	expectAnswer(t, rx, "000005", "<carl><ERR><TOO_LARGE><file of 312 bytes is over max_file_bytes (200)>$")
	expectAnswer(t, rx, "000006", "<dan><ERR><ENCODING><invalid utf-8 at byte 9 (the bridge's charset is utf-8)>$")
	expectAnswer(t, rx, "000007", "<eve><ERR><MALFORMED><incomplete file: it does not end with a complete frame>$")
	wait.Within(t, 20*time.Second, "the empty file dead-lettered", func() bool {
		return count(t, db, "SELECT count(*) FROM relay_dead WHERE reason LIKE '%empty file%'") == 1
	})
	reasons := column(t, db, "SELECT source_ref || ' ' || coalesce(code, '-') FROM relay_dead WHERE reason <> 'purged at start' ORDER BY id")
	if len(reasons) != 6 {
		t.Fatalf("relay_dead = %q", reasons)
	}
	for _, n := range []string{"CON.CTI", "a.b.CTI", "notes.txt"} {
		if _, err := os.Stat(filepath.Join(tx, n)); err != nil {
			t.Fatalf("%s was not left alone: %v", n, err)
		}
	}
	if strings.Count(p.logText(), `file=notes.txt`) != 1 {
		t.Fatalf("notes.txt not logged once:\n%s", p.logText())
	}

	// An unread answer blocks nothing: its successors wait, then come in
	// one file, in order; across a restart nothing is lost or repeated.
	protheusDrop(t, tx, "000001", "<jose><S>$")
	wait.Within(t, 20*time.Second, "the answer", func() bool {
		_, err := os.Stat(filepath.Join(rx, "000001.CTI"))
		return err == nil
	})
	protheusDrop(t, tx, "000001", "<jose><P><ON><1>$")
	wait.Within(t, 20*time.Second, "the request taken", func() bool {
		_, err := os.Stat(filepath.Join(tx, "000001.CTI"))
		return os.IsNotExist(err)
	})
	p.stop()
	protheusDrop(t, tx, "000001", "<jose><S>$") // while the relay is down
	cfg = writeFile(t, filepath.Join(dir, "ctirelay.yaml"), fileBridgeConfig(tx, rx, "ingest"))
	startRelay(t, dir, "--config", cfg)
	expectAnswer(t, rx, "000001", "<jose><S><1>$")
	// The pause's answer (the restarted simulated switch may have logged
	// jose off first), then the request written while the relay was down.
	var got []string
	for len(got) < 2 {
		got = append(got, protheusRead(t, rx, "000001")...)
	}
	if len(got) != 2 || !slices.Contains([]string{"<jose><OK>$", "<jose><ERR><NOT_LOGGED_ON><agent jose is not logged on>$"}, got[0]) ||
		!strings.HasPrefix(got[1], "<jose><S><") {
		t.Fatalf("after the restart 000001.CTI = %q", got)
	}
	// A repeat would come before the answer to the next request.
	protheusDrop(t, tx, "000001", "<jose><S>$")
	if got := protheusRead(t, rx, "000001"); len(got) != 1 || !strings.HasPrefix(got[0], "<jose><S><") {
		t.Fatalf("an answer was repeated: 000001.CTI = %q", got)
	}
}

// TestE2EFileBridgeConfig: the directories are checked at start, naming
// the key and the path.
func TestE2EFileBridgeConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tx, _ := spoolDirs(t)
	missing := filepath.Join(dir, "nope")
	cfg := writeFile(t, filepath.Join(dir, "ctirelay.yaml"), fileBridgeConfig(tx, missing, "purge"))
	_, errOut, code := ctl(t, dir, "run", "--config", cfg, "--socket-listen", "", "--http-listen", "")
	if code == 0 || !strings.Contains(errOut, "bridges.file.rx_dir: "+missing) {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
}

// TestE2EFileBridgePostgresTakeover: two relays share the spool on
// PostgreSQL; one serves it, and when it is killed the other takes over
// within seconds, answering the requests dropped meanwhile.
func TestE2EFileBridgePostgresTakeover(t *testing.T) {
	t.Parallel()
	tx, rx := spoolDirs(t)
	r := newPGRig(t, fileBridgeConfig(tx, rx, "purge"))
	relays := r.relays(2)
	serving := func() int {
		for i, p := range relays {
			// Once it has handled the leftovers (a request dropped before
			// would be purged).
			if p != nil && strings.Contains(p.logText(), "taking requests") {
				return i
			}
		}
		return -1
	}
	wait.Within(t, 20*time.Second, "a relay serving the spool", func() bool { return serving() >= 0 })
	first := serving()
	other := relays[1-first]
	protheusDrop(t, tx, "000001", "<jose><L><ON>$")
	expectAnswer(t, rx, "000001", "<jose><OK>$")
	if strings.Contains(other.logText(), "took the spool over") {
		t.Fatal("both relays serve the spool")
	}
	relays[first].kill()
	protheusDrop(t, tx, "000001", "<jose><S>$")
	// Each relay runs its own simulated switch, and either engine may have
	// run the L ON: jose's state depends on which.
	if got := protheusRead(t, rx, "000001"); len(got) != 1 || !strings.HasPrefix(got[0], "<jose><S><") {
		t.Fatalf("after the takeover 000001.CTI = %q", got)
	}
	if !strings.Contains(other.logText(), "took the spool over") {
		t.Fatalf("the other relay did not say it took over:\n%s", other.logText())
	}
}
