package ui

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
)

// Regenerate the screenshots in docs/ with
//
//	go test ./bridges/ui -run Screenshot -update
var update = flag.Bool("update", false, "rewrite the screenshots in docs/")

// The browser tests run against Debian's chromium-headless-shell (or the
// Chromium CTIRELAY_CHROME names). Without one they skip, saying why,
// unless CTIRELAY_TEST_REQUIRE_BROWSER=1 (as .ci/run sets) makes that a
// failure. One browser serves the package; each test has a tab of its own.
var browser struct {
	once   sync.Once
	ctx    context.Context
	cancel []context.CancelFunc
	err    error
}

func chromePath() string {
	if p := os.Getenv("CTIRELAY_CHROME"); p != "" {
		return p
	}
	for _, name := range []string{"chromium-headless-shell", "/usr/lib/chromium-headless-shell/chromium-headless-shell", "chromium", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

func stopBrowser() {
	for i := len(browser.cancel) - 1; i >= 0; i-- {
		browser.cancel[i]()
	}
	browser.cancel = nil
}

// tab opens a tab of the package's browser at the given window size, and
// collects what the page writes to its console.
func tab(t *testing.T, width, height int) (context.Context, func() []chromedp.ConsoleMessage) {
	t.Helper()
	path := chromePath()
	if path == "" {
		if os.Getenv("CTIRELAY_TEST_REQUIRE_BROWSER") == "1" {
			t.Fatal("no headless Chromium found and CTIRELAY_TEST_REQUIRE_BROWSER=1: install chromium-headless-shell or set CTIRELAY_CHROME")
		}
		t.Skip("skipped: no headless Chromium found (apt-get install chromium-headless-shell, or set CTIRELAY_CHROME)")
	}
	browser.once.Do(func() {
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path),
			chromedp.NoSandbox, // CI runs as root
			chromedp.Flag("headless", true),
			chromedp.Flag("disable-gpu", true),
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("no-first-run", true),
		)
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancel := chromedp.NewContext(alloc)
		browser.ctx, browser.cancel = ctx, []context.CancelFunc{cancelAlloc, cancel}
		browser.err = chromedp.Do(ctx) // no timeout: this context is the browser's life
	})
	if browser.err != nil {
		t.Fatalf("start %s: %v", path, browser.err)
	}
	ctx, cancel := chromedp.NewContext(browser.ctx)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(width), int64(height))); err != nil {
		cancel()
		t.Fatal(err)
	}
	var mu sync.Mutex
	var msgs []chromedp.ConsoleMessage
	done := make(chan struct{})
	console := chromedp.Console(ctx)
	go func() {
		defer close(done)
		for m, err := range console {
			if err != nil {
				return
			}
			mu.Lock()
			msgs = append(msgs, m)
			mu.Unlock()
		}
	}()
	tctx, tcancel := context.WithTimeout(ctx, time.Minute) // a safety net, not an assertion
	t.Cleanup(func() { tcancel(); cancel(); <-done })
	return tctx, func() []chromedp.ConsoleMessage {
		mu.Lock()
		defer mu.Unlock()
		return append([]chromedp.ConsoleMessage(nil), msgs...)
	}
}

func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

// evalFor polls a JavaScript condition until it is true.
func evalFor(t *testing.T, ctx context.Context, what, js string) {
	t.Helper()
	wait.For(t, what, func() bool { return eval[bool](t, ctx, js) })
}

// setValue sets a filter as typing would, firing its input event.
func setValue(t *testing.T, ctx context.Context, id, v string) {
	t.Helper()
	eval[bool](t, ctx, fmt.Sprintf(`(() => { const el = document.getElementById(%q); el.value = %q; el.dispatchEvent(new Event("input")); return true })()`, id, v))
}

// open loads the dashboard and waits for its stream.
func open(t *testing.T, ctx context.Context, r *rig) {
	t.Helper()
	do(t, ctx, chromedp.Navigate(r.url("/ui/")))
	evalFor(t, ctx, "the stream", `document.getElementById("conn").textContent === "live"`)
}

func noConsoleErrors(t *testing.T, msgs []chromedp.ConsoleMessage) {
	t.Helper()
	for _, m := range msgs {
		if m.Type == chromedp.ConsoleError || m.IsException() || m.Type == chromedp.ConsoleWarning {
			t.Errorf("console %s: %s (%s:%d)", m.Type, m.Text, m.URL, m.Line+1)
		}
	}
}

// TestBrowserScreenshot: the page loads with no console errors and no
// sideways scrolling at a desktop's and a phone's size, and (with -update)
// writes the screenshots the README shows.
func TestBrowserScreenshot(t *testing.T) {
	d := &fakeDriver{h: relay.DriverHealth{Connected: true, Since: time.Now().Add(-42 * time.Minute), Detail: "command and monitoring connections up"}}
	r := newRig(t, rigOptions{engine: true, cfg: Config{Jobs: testJobs(t), Driver: d, Switch: "tactium"}})
	now := time.Now()
	// node-1 leads: it holds the scheduler lock.
	if err := r.mem.Heartbeat(context.Background(), relay.Node{ID: "node-1", Host: "host-a", Version: "v1.2.3", StartedAt: now, Holds: []string{relay.LockScheduler}}, now); err != nil {
		t.Fatal(err)
	}
	id, err := r.mem.BeginRun(context.Background(), relay.JobRun{Job: "dead-retry", Slot: now.Add(-3 * time.Minute), Node: "node-1#5385fa12", Status: relay.RunRunning,
		StartedAt: now.Add(-3 * time.Minute), HeartbeatAt: now.Add(-3 * time.Minute)}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.mem.UpdateRun(context.Background(), id, relay.RunOK, now.Add(-3*time.Minute+40*time.Millisecond), `{}`); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"<ana><L><ON>$", "<ana><S>$", "<bruno><L><ON>$", "<bruno><P><ON><2>$", "<carla><L><ON>$", "<carla><BOGUS>$"} {
		r.mem.InsertTTI(0, f)
	}
	wait.For(t, "the sample's replies", func() bool { return len(r.mem.TTO()) >= 6 })
	r.driver.Emit(context.Background(), relay.NewFrame("ana", "A", "11", "5551234", "sales"))
	wait.For(t, "the event", func() bool { return len(r.mem.TTO()) >= 7 })
	for _, size := range []struct {
		name          string
		width, height int
	}{{"desktop", 1280, 800}, {"phone", 390, 844}} {
		t.Run(size.name, func(t *testing.T) {
			ctx, console := tab(t, size.width, size.height)
			open(t, ctx, r)
			evalFor(t, ctx, "the agents", `document.querySelectorAll("#agents tbody tr[data-text]").length === 3`)
			evalFor(t, ctx, "the dead letter", `document.querySelectorAll("#dead tr[data-id]").length === 1`)
			if w := eval[int](t, ctx, `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
				t.Errorf("the page is %dpx wider than a %dpx window", w, size.width)
			}
			evalFor(t, ctx, "the driver and the jobs", `!!document.getElementById("driver") && document.querySelectorAll("#jobs tr[data-job]").length === 3`)
			for _, id := range []string{"health", "queues", "agents", "journal", "dead", "jobs"} {
				if !eval[bool](t, ctx, fmt.Sprintf(`(() => { const r = document.getElementById(%q).closest("section").getBoundingClientRect(); return r.width > 0 && r.right <= window.innerWidth + 1 })()`, id)) {
					t.Errorf("#%s is hidden or cut off at %dx%d", id, size.width, size.height)
				}
			}
			noConsoleErrors(t, console())
			if *update {
				png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join("..", "..", "docs", "ui-"+size.name+".png"), png, 0o644); err != nil {
					t.Fatal(err)
				}
				if dir := os.Getenv("CTIRELAY_UI_FULLPAGE"); dir != "" { // the whole page, to look at
					full, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
					if err != nil {
						t.Fatal(err)
					}
					_ = os.WriteFile(filepath.Join(dir, "ui-"+size.name+"-full.png"), full, 0o644)
				}
			}
		})
	}
}

// TestBrowserLiveJournal: a command inserted into T_TTI shows in the
// journal within a second, and the filters and the pause hold it back.
func TestBrowserLiveJournal(t *testing.T) {
	r := newRig(t, rigOptions{engine: true})
	ctx, console := tab(t, 1280, 800)
	open(t, ctx, r)
	row := `Array.from(document.querySelectorAll("#journal tr")).some(tr => !tr.hidden && tr.dataset.kind === "command" && tr.textContent.includes("<dora><S>$"))`
	r.mem.InsertTTI(0, "<dora><S>$")
	// The issue asks for "within a second"; the feed and the stream add
	// milliseconds, so a second is a wide margin even on a loaded machine.
	wait.Within(t, time.Second, "the command in the live journal", func() bool { return eval[bool](t, ctx, row) })

	do(t, ctx, chromedp.SendKeys(chromedp.ID("j-agent"), "nobody"))
	if eval[bool](t, ctx, row) {
		t.Fatal("the agent filter shows another agent's command")
	}
	setValue(t, ctx, "j-agent", "DOR")
	evalFor(t, ctx, "the filtered row", row)
	setValue(t, ctx, "j-kind", "reply")
	if eval[bool](t, ctx, row) {
		t.Fatal("the kind filter shows a command")
	}
	setValue(t, ctx, "j-kind", "")
	setValue(t, ctx, "j-source", "erp")
	evalFor(t, ctx, "the row of source erp", row)

	do(t, ctx, chromedp.Click(chromedp.ID("pause")))
	r.mem.InsertTTI(0, "<dora><P><ON><1>$")
	evalFor(t, ctx, "the held count", `document.getElementById("held").textContent !== ""`)
	paused := `document.getElementById("journal").textContent.includes("<dora><P><ON><1>$")`
	if eval[bool](t, ctx, paused) {
		t.Fatal("a paused journal took a line")
	}
	do(t, ctx, chromedp.Click(chromedp.ID("pause")))
	evalFor(t, ctx, "the held line", paused)
	noConsoleErrors(t, console())
}

// TestBrowserAgentState: L ON then P ON change the agent's state.
func TestBrowserAgentState(t *testing.T) {
	r := newRig(t, rigOptions{engine: true})
	ctx, console := tab(t, 390, 844)
	open(t, ctx, r)
	state := func(want string) string {
		return fmt.Sprintf(`(() => { const tr = document.querySelector('#agents tr[data-text^="eva "]'); return !!tr && tr.querySelector(".state").textContent === %q })()`, want)
	}
	r.mem.InsertTTI(0, "<eva><L><ON>$")
	evalFor(t, ctx, "eva available", state("available"))
	r.mem.InsertTTI(0, "<eva><P><ON><3>$")
	evalFor(t, ctx, "eva paused", state("paused"))
	do(t, ctx, chromedp.SendKeys(chromedp.ID("agent-filter"), "zzz"))
	if !eval[bool](t, ctx, `document.querySelector('#agents tr[data-text^="eva "]').hidden`) {
		t.Fatal("the agent filter left eva shown")
	}
	noConsoleErrors(t, console())
}

// TestBrowserRetryDeadLetter: signed in with the admin token, a dead letter
// is retried from the page (through the confirmation) and disappears.
func TestBrowserRetryDeadLetter(t *testing.T) {
	var refuse atomic.Bool
	refuse.Store(true)
	r := newRig(t, rigOptions{engine: true,
		handle: func(_ context.Context, cmd relay.Command) ([]relay.Frame, error) {
			if refuse.Load() {
				return nil, relay.Transient(errors.New("switch says no"))
			}
			return []relay.Frame{relay.OK(cmd.Login)}, nil
		},
		tokens: testTokens})
	r.mem.InsertTTI(0, "<fred><L><ON>$")
	wait.For(t, "the dead letter", func() bool { return len(r.mem.Dead()) == 1 })
	refuse.Store(false)

	ctx, console := tab(t, 1280, 800)
	do(t, ctx, chromedp.Navigate(r.url("/ui/")),
		chromedp.SendKeys(chromedp.ID("token"), "wrong"), chromedp.Submit(chromedp.ID("token")))
	evalFor(t, ctx, "the refusal", `!!document.getElementById("login-failed")`)
	do(t, ctx, chromedp.SendKeys(chromedp.ID("token"), "s-admin"), chromedp.Submit(chromedp.ID("token")))
	evalFor(t, ctx, "the stream", `!!document.getElementById("conn") && document.getElementById("conn").textContent === "live"`)
	if eval[bool](t, ctx, `document.cookie.includes("ctirelay_ui")`) {
		t.Fatal("the session cookie is readable from script")
	}
	evalFor(t, ctx, "the dead letter's row", `!!document.querySelector('#dead button[data-action="retry"]')`)
	do(t, ctx, chromedp.Click(chromedp.CSS(`#dead button[data-action="retry"]`)))
	evalFor(t, ctx, "the confirmation", `!document.getElementById("confirm").hidden`)
	if len(r.mem.Dead()) != 1 {
		t.Fatal("retried before the confirmation")
	}
	do(t, ctx, chromedp.Click(chromedp.ID("confirm-yes")))
	evalFor(t, ctx, "the result", `document.getElementById("result").textContent === "retried 1 of 1 dead letter(s)"`)
	evalFor(t, ctx, "the row gone", `document.querySelectorAll("#dead tr[data-id]").length === 0`)
	wait.For(t, "the retried command answered", func() bool {
		for _, row := range r.mem.TTO() {
			if strings.Contains(row.Text, "<fred><OK>$") {
				return true
			}
		}
		return false
	})
	noConsoleErrors(t, console())
}

// TestBrowserHostileFrame: a frame holding a script shows as text and
// runs nothing.
func TestBrowserHostileFrame(t *testing.T) {
	r := newRig(t, rigOptions{engine: true})
	ctx, console := tab(t, 1280, 800)
	open(t, ctx, r)
	r.mem.InsertTTI(0, hostile)
	shown := func(sel string) string {
		return fmt.Sprintf(`Array.from(document.querySelectorAll(%q)).some(el => el.textContent.includes(%q))`, sel, hostile)
	}
	evalFor(t, ctx, "the journal line", shown("#journal code"))
	evalFor(t, ctx, "the dead letter", shown("#dead code"))
	if eval[bool](t, ctx, `window.pwned === 1 || document.querySelectorAll("main script").length > 0`) {
		t.Fatal("the hostile frame ran as a script")
	}
	do(t, ctx, chromedp.Reload())
	evalFor(t, ctx, "the journal line after a reload", shown("#journal code"))
	if eval[bool](t, ctx, `window.pwned === 1 || document.querySelectorAll("main script").length > 0`) {
		t.Fatal("the hostile frame ran as a script in the first view")
	}
	noConsoleErrors(t, console())
}
