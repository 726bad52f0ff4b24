package httpbridge

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/ctirelay/ctirelay/relay/relaytest"
)

// Messages do not repeat what the logger carries: bridge=http is an
// attribute of every line, never part of the message.
func TestLogMessagesDoNotRepeatTheBridge(t *testing.T) {
	t.Parallel()
	var buf relaytest.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	r := newRig(t, nil, Config{Logger: log})
	r.b.Stop()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) < 2 {
		t.Fatalf("expected the start and stop lines, got %q", buf.String())
	}
	for _, l := range lines {
		if !strings.Contains(l, "bridge=http") || strings.Contains(strings.ToLower(l), `msg="http bridge`) || strings.Contains(l, "msg=http") {
			t.Errorf("log line %q", l)
		}
	}
}
