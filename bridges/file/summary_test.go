package spool

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
)

// The serving bridge saves its counters and the users waiting in
// relay_cursor, where `ctirelay status` (another process) reads them: a
// user whose answer cannot be renamed shows as waiting, then stuck once
// rename_attempts run out, and neither once it is written; the totals
// carry on across a restart.
func TestSummarySavedForStatus(t *testing.T) {
	t.Parallel()
	cfg := Config{Users: map[string]string{"000001": "ana"}, RenameAttempts: 3, SummaryInterval: 1}
	r := newRig(t, cfg)
	summary := func() Summary {
		s, err := ReadSummary(context.Background(), r.store)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// A directory where the answer goes: never read, so never removed.
	inTheWay := filepath.Join(r.rx, "000001"+Ext)
	if err := os.Mkdir(inTheWay, 0o755); err != nil {
		t.Fatal(err)
	}
	r.drop("000001", "<ana><S>$")
	wait.For(t, "the user stuck in the summary", func() bool {
		s := summary()
		return len(s.Users) == 1 && s.Users[0].User == "000001" && !s.Users[0].WaitingSince.IsZero() &&
			!s.Users[0].StuckSince.IsZero() && s.FilesTaken == 1 && s.RenameFailures >= 1 && s.RenameRetries >= 3
	})
	if st := r.b.Stats(); len(st.Users) != 1 || !st.Users[0].Stuck {
		t.Fatalf("Stats = %+v", st)
	}
	os.Remove(inTheWay)
	if got := r.readUntil("000001", 1); !slices.Equal(got, []string{"<ana><S><1>$"}) {
		t.Fatalf("Rx = %q", got)
	}
	wait.For(t, "nobody waiting in the summary", func() bool {
		s := summary()
		return len(s.Users) == 0 && s.AnswersWritten == 1 && s.FramesWritten == 1
	})
	r.stop()
	cfg.TxDir, cfg.RxDir = r.tx, r.rx
	r.start(cfg)
	r.drop("000001", "<ana><S>$")
	r.readUntil("000001", 1)
	wait.For(t, "the totals carried on", func() bool {
		s := summary()
		return s.FilesTaken == 2 && s.AnswersWritten == 2 && len(s.Users) == 0
	})
}
