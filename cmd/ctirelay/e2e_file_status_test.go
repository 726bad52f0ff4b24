package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
)

// TestE2EFileBridgeStatus: `ctirelay status`, another process, shows the
// running file bridge's counters and the users whose answer waits, stuck
// once rename_attempts run out, from the summary the bridge saves.
func TestE2EFileBridgeStatus(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tx, rx := spoolDirs(t)
	cfg := writeFile(t, filepath.Join(dir, "ctirelay.yaml"),
		strings.Replace(fileBridgeConfig(tx, rx, "purge"), "    rename_wait: 10ms\n", "    rename_wait: 10ms\n    rename_attempts: 3\n", 1))
	startRelay(t, dir, "--config", cfg)
	type status struct {
		Spool *struct {
			FilesTaken     int64 `json:"files_taken"`
			AnswersWritten int64 `json:"answers_written"`
			RenameRetries  int64 `json:"rename_retries"`
			RenameFailures int64 `json:"rename_failures"`
			Users          []struct {
				User    string  `json:"user"`
				OldestS float64 `json:"oldest_waiting_s"`
				Stuck   bool    `json:"stuck"`
			} `json:"users"`
		} `json:"file_spool"`
	}
	read := func() status {
		out, errOut, code := ctl(t, dir, "status", "--json", "--config", cfg)
		if code != 0 {
			t.Fatalf("status --json: %d %s", code, errOut)
		}
		var s status
		if err := json.Unmarshal([]byte(out), &s); err != nil {
			t.Fatalf("status --json: %v\n%s", err, out)
		}
		if s.Spool == nil {
			t.Fatalf("status --json has no file_spool:\n%s", out)
		}
		return s
	}
	// A directory where 000005's answer goes: SIGACTI never removes it.
	inTheWay := filepath.Join(rx, "000005.CTI")
	if err := os.Mkdir(inTheWay, 0o755); err != nil {
		t.Fatal(err)
	}
	protheusDrop(t, tx, "000005", "<ana><L><ON>$")
	wait.Within(t, 20*time.Second, "000005 stuck in status", func() bool {
		s := read().Spool
		return s.FilesTaken == 1 && s.RenameRetries >= 3 && s.RenameFailures >= 1 &&
			len(s.Users) == 1 && s.Users[0].User == "000005" && s.Users[0].Stuck && s.Users[0].OldestS > 0
	})
	out, _, _ := ctl(t, dir, "status", "--config", cfg)
	for _, want := range []string{"file spool", "files taken", "000005", "yes, rename attempts ran out"} {
		if !strings.Contains(out, want) {
			t.Fatalf("status has no %q:\n%s", want, out)
		}
	}
	os.Remove(inTheWay)
	expectAnswer(t, rx, "000005", "<ana><OK>$")
	wait.Within(t, 20*time.Second, "nobody waiting in status", func() bool {
		s := read().Spool
		return s.AnswersWritten == 1 && len(s.Users) == 0
	})
}
