package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
)

func TestUIBridgeConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, yaml, err string
		enabled         bool
	}{
		{"on by default", "", "", true},
		{"off", "bridges:\n  ui:\n    enabled: false\n", "", false},
		{"interval", "bridges:\n  ui:\n    interval: 5s\n", "", true},
		{"negative interval", "bridges:\n  ui:\n    interval: -1s\n", "negative duration", true},
		{"the old listener", "bridges:\n  ui:\n    listen: 127.0.0.1:8481\n", "bridges.ui.listen: is gone: the dashboard is served at /ui/ on bridges.http.listen", true},
		{"the old keys, empty", "bridges:\n  ui:\n    listen: \"\"\n    tokens: []\n", "", true},
		{"the old tokens", "bridges:\n  ui:\n    tokens:\n      - {name: noc, secret: x, groups: [events]}\n", "bridges.ui.tokens: are gone", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := LoadConfig(writeConfig(t, tc.yaml))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Bridges.UI.Enabled != tc.enabled {
				t.Fatalf("enabled %v", cfg.Bridges.UI.Enabled)
			}
		})
	}
}

const (
	e2eTokenNOC = "noc-token-0123456789abcdef"
	e2eTokenDBA = "dba-token-0123456789abcdef"
)

// TestE2EDashboard runs the binary as an operator would: the dashboard on
// the HTTP bridge's listener and tokens at /ui/ (/ sends a browser there),
// signed in once with a token, a command inserted into T_TTI in the live
// journal, a dead letter (the switch was down) retried from the page's API
// once the switch is back, and the old listener's keys refused.
func TestE2EDashboard(t *testing.T) {
	t.Parallel()
	httpAddr, swAddr := freeAddr(t), freeAddr(t)
	dir := t.TempDir()
	cfg := writeFile(t, filepath.Join(dir, "ctirelay.yaml"), fmt.Sprintf(`
switch:
  driver: tactium
  tactium:
    address: %s
    reply_timeout: 2s
engine:
  max_attempts: 1
bridges:
  ui:
    interval: 200ms
  http:
    listen: %s
    tokens:
      - {name: noc, secret: %s, groups: [events]}
      - {name: dba, secret: %s, groups: [admin]}
    webhooks:
      - {name: crm, url: "http://127.0.0.1:9/hook", secret: %s, kinds: [reply]}
`, swAddr, httpAddr, e2eTokenNOC, e2eTokenDBA, e2eWebhookSecret))
	relay := startRelay(t, dir, "--config", cfg, "--http-listen", httpAddr)
	base := "http://" + httpAddr
	if !strings.Contains(relay.logText(), "dashboard at "+base+"/ui/") {
		t.Fatalf("the log does not say where the dashboard is:\n%s", relay.logText())
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "ctirelay.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	get := func(path string) (int, string) {
		t.Helper()
		res, err := browser.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	// / lands on the sign-in form; a token of another group or none is refused.
	if code, body := get("/"); code != 200 || !strings.Contains(body, `name="token"`) {
		t.Fatalf("GET /: %d %s", code, body)
	}
	signIn := func(token string) string {
		t.Helper()
		res, err := browser.PostForm(base+"/ui/login", url.Values{"token": {token}})
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.Request.URL.String() + " " + string(b)
	}
	if got := signIn("wrong-token-0123456789"); !strings.Contains(got, "/ui/?failed") {
		t.Fatalf("a wrong token: %s", got)
	}
	if got := signIn(e2eTokenDBA); !strings.Contains(got, `<meta name="csrf"`) || !strings.Contains(got, "Dead letters") {
		t.Fatalf("signed in: %s", got)
	}
	_, page := get("/ui/")
	_, csrf, _ := strings.Cut(page, `<meta name="csrf" content="`)
	csrf = csrf[:strings.IndexByte(csrf, '"')]

	// The stream: summaries and journal lines.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/ui/stream", nil)
	res, err := browser.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("stream: %v %v", res, err)
	}
	defer res.Body.Close()
	events := make(chan [2]string, 1024)
	go func() {
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(nil, 1<<22)
		var name string
		for sc.Scan() {
			line := sc.Text()
			if n, ok := strings.CutPrefix(line, "event: "); ok {
				name = n
			} else if d, ok := strings.CutPrefix(line, "data: "); ok {
				events <- [2]string{name, d}
			}
		}
		close(events)
	}()
	var lastSummary map[string]string
	saw := func(what string, ok func(name, data string) bool) {
		t.Helper()
		deadline := time.After(20 * time.Second)
		for {
			select {
			case e, open := <-events:
				if !open {
					t.Fatalf("the stream ended before %s", what)
				}
				if e[0] == "summary" {
					lastSummary = nil
					_ = json.Unmarshal([]byte(e[1]), &lastSummary)
				}
				if ok(e[0], e[1]) {
					return
				}
			case <-deadline:
				t.Fatalf("no %s on the stream", what)
			}
		}
	}

	// The switch is down: the command dies after its one attempt.
	if _, err := db.Exec(`INSERT INTO T_TTI (DS_TTI) VALUES ('<ana><L><ON>$')`); err != nil {
		t.Fatal(err)
	}
	saw("the command in the live journal", func(name, data string) bool {
		return name == "entry" && strings.Contains(data, "&lt;ana&gt;&lt;L&gt;&lt;ON&gt;$")
	})
	saw("the dead letter", func(name, data string) bool {
		return name == "summary" && strings.Contains(lastSummary["dead"], `data-action="retry"`)
	})
	if h := lastSummary["health"]; !strings.Contains(h, `id="driver" class="card bad"><b>switch (tactium)</b>`) || !strings.Contains(h, "last error: ") {
		t.Fatalf("the health strip does not show the switch down:\n%s", h)
	}
	if q := lastSummary["queues"]; !strings.Contains(q, `id="tto-age"`) || !strings.Contains(lastSummary["jobs"], `data-job="retention"`) ||
		!strings.Contains(lastSummary["health"], "switch (tactium)") || !strings.Contains(lastSummary["health"], "<b>webhook crm</b><br>enabled") {
		t.Fatalf("the summary lacks the ages, jobs or switch:\n%v", lastSummary)
	}
	deadID := func() int64 {
		var id int64
		_ = db.QueryRow(`SELECT coalesce(max(id), 0) FROM relay_dead`).Scan(&id)
		return id
	}

	// The switch is back; the operator retries the letter.
	startSimServer(t, swAddr, "--ring-time", "0s")
	act := func(token string, id int64) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base+"/ui/api/dead", strings.NewReader(fmt.Sprintf(`{"action":"retry","ids":[%d]}`, id)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-CSRF-Token", token)
		res, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := act("forged", deadID()); code != 403 {
		t.Fatalf("a forged CSRF token: %d %s", code, body)
	}
	// Until the driver's reconnection backoff ends, a retried command can
	// die again (one attempt): the operator retries again, as one would.
	wait.Within(t, 20*time.Second, "the retried command answered", func() bool {
		if count(t, db, `SELECT count(*) FROM T_TTO WHERE DS_TTO = '<ana><OK>$'`) == 1 {
			return true
		}
		if id := deadID(); id != 0 {
			if code, body := act(csrf, id); code != 200 {
				t.Fatalf("retry: %d %s", code, body)
			}
		}
		return false
	})
	saw("the dead letter gone, the switch connected", func(name, data string) bool {
		return name == "summary" && !strings.Contains(lastSummary["dead"], "data-id=") &&
			strings.Contains(lastSummary["health"], `<span class="driver-state">connected</span>`)
	})
	cancel()
	relay.stop()
}
