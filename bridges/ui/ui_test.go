package ui

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	httpbridge "github.com/ctirelay/ctirelay/bridges/http"
	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
	"github.com/ctirelay/ctirelay/store/memstore"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	code := m.Run()
	stopBrowser()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			println("goleak:", err.Error())
			code = 1
		}
	}
	os.Exit(code)
}

// TestSummaryOncePerInterval: twenty viewers get every summary, and the
// store is read once per interval, not once per viewer.
func TestSummaryOncePerInterval(t *testing.T) {
	t.Parallel()
	clock := relaytest.NewClock(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
	jobs := testJobs(t)
	r := newRig(t, rigOptions{cfg: Config{Clock: clock, Interval: time.Second, Jobs: jobs}})
	const viewers, rounds = 20, 3
	var vs []*viewer
	for range viewers {
		c := r.client()
		r.get(c, "/ui/")
		vs = append(vs, r.open(c, "/ui/stream"))
	}
	allSaw := func(n int) func() bool {
		return func() bool {
			for _, v := range vs {
				if v.count("summary") < n {
					return false
				}
			}
			return true
		}
	}
	wait.For(t, "every viewer's first summary", allSaw(1))
	for i := range rounds {
		if !clock.WaitForWaiters(1, wait.Safety) {
			t.Fatal("the summary loop does not wait for the clock")
		}
		clock.Advance(time.Second)
		wait.For(t, "every viewer's next summary", allSaw(i+2))
	}
	want := int64(1 + rounds) // at Start, then once per interval
	for name, got := range map[string]int64{"Status": r.store.status.Load(), "Agents": r.store.agents.Load(),
		"DeadLetters": r.store.dead.Load(), "Nodes": r.store.nodes.Load(), "Backlog": r.store.backlog.Load(),
		"JobRuns per job": r.store.runs.Load() / int64(len(jobs))} {
		if got != want {
			t.Errorf("%s called %d times for %d viewers over %d intervals, want %d", name, got, viewers, rounds, want)
		}
	}
}

func testJobs(t testing.TB) []relay.ScheduledJob {
	t.Helper()
	var jobs []relay.ScheduledJob
	for _, j := range []struct {
		name, spec string
		enabled    bool
	}{{"retention", "0 3 * * *", true}, {"dead-retry", "@every 5m", true}, {"agent-sync", "@every 1h", false}} {
		s, err := relay.ParseSchedule(j.spec, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, relay.ScheduledJob{Name: j.name, Schedule: s, Enabled: j.enabled})
	}
	return jobs
}

const hostile = `<script>window.pwned=1</script>`

// TestHostileFrameIsText: a frame holding markup is escaped in the page,
// in the pushed summary and in the journal lines.
func TestHostileFrameIsText(t *testing.T) {
	t.Parallel()
	r := newRig(t, rigOptions{engine: true})
	c := r.client()
	_, _ = r.get(c, "/ui/")
	v := r.open(c, "/ui/stream")
	r.mem.InsertTTI(0, hostile)
	wait.For(t, "the dead letter", func() bool { return len(r.mem.Dead()) == 1 })
	wait.For(t, "the journal line", func() bool {
		for _, e := range v.all() {
			if e.name == "entry" && strings.Contains(e.data, "pwned") {
				return true
			}
		}
		return false
	})
	wait.For(t, "a summary with the dead letter", func() bool {
		evs := v.all()
		return strings.Contains(evs[len(evs)-1].data, "pwned")
	})
	check := func(where, s string) {
		t.Helper()
		if strings.Contains(s, "<script>window") {
			t.Errorf("%s holds the frame as markup: %s", where, s)
		}
		if !strings.Contains(s, "&lt;script&gt;window.pwned=1&lt;/script&gt;") {
			t.Errorf("%s does not show the frame as text: %s", where, s)
		}
	}
	for _, e := range v.all() {
		if strings.Contains(e.data, "pwned") {
			if e.name == "summary" {
				var parts map[string]string
				if err := json.Unmarshal([]byte(e.data), &parts); err != nil {
					t.Fatal(err)
				}
				check("the summary's dead panel", parts["dead"])
			} else {
				check("the journal line", e.data)
			}
		}
	}
	_, page := r.get(c, "/ui/")
	check("the page", page)
}

var testTokens = []httpbridge.Token{
	{Name: "noc", Secret: "s-events", Groups: []string{GroupEvents}},
	{Name: "dba", Secret: "s-admin", Groups: []string{GroupAdmin}},
	{Name: "erp", Secret: "s-cmd", Groups: []string{"commands"}},
}

// TestAuth: sign-in, the cookie's attributes, who may stream and act, CSRF.
func TestAuth(t *testing.T) {
	t.Parallel()
	r := newRig(t, rigOptions{tokens: testTokens})
	anon := r.client()
	resp, body := r.get(anon, "/ui/")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `name="token"`) || len(resp.Cookies()) != 0 {
		t.Fatalf("unsigned page: %s, cookies %v, %s", resp.Status, resp.Cookies(), body)
	}
	if resp, _ := r.get(anon, "/ui/stream"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unsigned stream: %s", resp.Status)
	}
	signIn := func(secret string) (*http.Client, *http.Response) {
		c := r.client()
		resp, err := c.PostForm(r.url("/ui/login"), url.Values{"token": {secret}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return c, resp
	}
	for _, bad := range []string{"", "nope", "s-cmd"} {
		if _, resp := signIn(bad); resp.Header.Get("Location") != "/ui/?failed" || len(resp.Cookies()) != 0 {
			t.Errorf("token %q: %s %v", bad, resp.Header.Get("Location"), resp.Cookies())
		}
	}
	csrfOf := func(c *http.Client) string {
		_, page := r.get(c, "/ui/")
		_, after, ok := strings.Cut(page, `<meta name="csrf" content="`)
		if !ok {
			t.Fatalf("no CSRF token in %s", page)
		}
		return after[:strings.IndexByte(after, '"')]
	}
	act := func(c *http.Client, csrf string) int {
		req, _ := http.NewRequest(http.MethodPost, r.url("/ui/api/dead"), strings.NewReader(`{"action":"retry","ids":[]}`))
		req.Header.Set("Content-Type", "application/json")
		if csrf != "" {
			req.Header.Set("X-CSRF-Token", csrf)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	viewer, resp := signIn("s-events")
	cookie := resp.Cookies()[0]
	if cookie.Name != CookieName || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/ui/" || cookie.MaxAge <= 0 || !cookie.Expires.IsZero() {
		t.Fatalf("cookie %+v", cookie)
	}
	v := r.open(viewer, "/ui/stream")
	wait.For(t, "the viewer's summary", func() bool { return v.count("summary") > 0 })
	if got := act(viewer, csrfOf(viewer)); got != http.StatusForbidden {
		t.Errorf("events token acted: %d", got)
	}
	admin, _ := signIn("s-admin")
	if got := act(admin, ""); got != http.StatusForbidden {
		t.Errorf("admin without CSRF: %d", got)
	}
	if got := act(admin, "forged"); got != http.StatusForbidden {
		t.Errorf("admin with a wrong CSRF token: %d", got)
	}
	if got := act(admin, csrfOf(viewer)); got != http.StatusForbidden {
		t.Errorf("admin with another session's CSRF token: %d", got)
	}
	if got := act(admin, csrfOf(admin)); got != http.StatusOK {
		t.Errorf("admin with its CSRF token: %d", got)
	}
	if got := act(anon, "x"); got != http.StatusUnauthorized {
		t.Errorf("anonymous action: %d", got)
	}
}

// TestDeadActions: retry one by id, drop every letter matching a filter
// (beyond the listed page too), the result counted.
func TestDeadActions(t *testing.T) {
	t.Parallel()
	r := newRig(t, rigOptions{cfg: Config{DeadLimit: 2}})
	ctx := context.Background()
	// Commands that die at once: refused at admission (no verb) or not.
	enq, err := r.mem.Enqueue(ctx, []relay.Inbound{
		{Source: relay.SourceCLI, Raw: "<ann><NOPE>$"},
		{Source: relay.SourceCLI, Raw: "<bob><NOPE>$"},
		{Source: relay.SourceCLI, Raw: "<bob><NOPE><x>$"},
		{Source: relay.SourceCLI, Raw: "<cid><NOPE>$"},
	}, time.Now(), relay.DefaultMaxFrame)
	if err != nil || len(enq) != 4 {
		t.Fatal(enq, err)
	}
	c := r.client()
	_, page := r.get(c, "/ui/")
	_, after, _ := strings.Cut(page, `<meta name="csrf" content="`)
	csrf := after[:strings.IndexByte(after, '"')]
	post := func(body string) (int, deadResult) {
		req, _ := http.NewRequest(http.MethodPost, r.url("/ui/api/dead"), strings.NewReader(body))
		req.Header.Set("X-CSRF-Token", csrf)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var res deadResult
		_ = json.NewDecoder(resp.Body).Decode(&res)
		return resp.StatusCode, res
	}
	dead := r.mem.Dead()
	if len(dead) != 4 {
		t.Fatalf("dead: %+v", dead)
	}
	code, res := post(`{"action":"drop","all":true,"filter":"BOB"}`)
	if code != http.StatusOK || res.Matched != 2 || res.Done != 2 {
		t.Fatalf("drop bob: %d %+v", code, res)
	}
	var left []string
	for _, d := range r.mem.Dead() {
		left = append(left, d.Agent)
	}
	if !slices.Equal(left, []string{"ann", "cid"}) {
		t.Fatalf("left %q", left)
	}
	if code, _ := post(`{"action":"explode","ids":[1]}`); code != http.StatusBadRequest {
		t.Fatalf("bad action: %d", code)
	}
	code, res = post(`{"action":"drop","ids":[` + itoa(r.mem.Dead()[0].ID) + `]}`)
	if code != http.StatusOK || res.Done != 1 || len(r.mem.Dead()) != 1 {
		t.Fatalf("drop one: %d %+v %+v", code, res, r.mem.Dead())
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestTracker: agents' states from the switch's replies and events.
func TestTracker(t *testing.T) {
	t.Parallel()
	cmd := func(id int64, agent, frame string) relay.JournalEntry {
		return relay.JournalEntry{ID: id, Kind: relay.KindCommand, Agent: agent, Frame: frame, InboxID: id}
	}
	reply := func(id int64, agent, frame string) relay.JournalEntry {
		return relay.JournalEntry{ID: id + 1000, Kind: relay.KindReply, Agent: agent, Frame: frame, InboxID: id}
	}
	event := func(agent, frame string) relay.JournalEntry {
		return relay.JournalEntry{Kind: relay.KindEvent, Agent: agent, Frame: frame}
	}
	tests := []struct {
		name     string
		entries  []relay.JournalEntry
		state    string
		inFlight string
		lastErr  string
	}{
		{"nothing yet", nil, "unknown", "", ""},
		{"logged on", []relay.JournalEntry{cmd(1, "jose", "<jose><L><ON>$"), reply(1, "jose", "<jose><OK>$")}, "available", "", ""},
		{"paused", []relay.JournalEntry{cmd(1, "jose", "<jose><L><ON>$"), reply(1, "jose", "<jose><OK>$"),
			cmd(2, "JOSE", "<JOSE><P><ON><5>$"), reply(2, "JOSE", "<JOSE><OK>$")}, "paused", "", ""},
		{"command unanswered", []relay.JournalEntry{cmd(1, "jose", "<jose><L><ON>$")}, "unknown", "L", ""},
		{"the oldest unanswered shown", []relay.JournalEntry{cmd(1, "jose", "<jose><L><ON>$"), cmd(2, "jose", "<jose><S>$"), cmd(3, "jose", "<jose><P><OFF>$"), reply(1, "jose", "<jose><OK>$")}, "available", "S", ""},
		{"status reply", []relay.JournalEntry{cmd(1, "jose", "<jose><S>$"), reply(1, "jose", "<jose><S><3>$")}, "busy", "", ""},
		{"refused", []relay.JournalEntry{cmd(1, "jose", "<jose><P><OFF>$"), reply(1, "jose", "<jose><ERR><12><not logged on>$")}, "unknown", "", "12 not logged on"},
		{"call then end", []relay.JournalEntry{event("jose", "<jose><A><1><2>$"), event("jose", "<jose><EndCall>$")}, "wrap-up", "", ""},
		{"active call", []relay.JournalEntry{event("jose", "<jose><R><1>$")}, "busy", "", ""},
		{"logged off", []relay.JournalEntry{cmd(1, "jose", "<jose><L><OFF>$"), reply(1, "jose", "<jose><OK>$")}, "logged-off", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tr := newTracker(relay.SystemClock{})
			for _, e := range tc.entries {
				tr.observe(relay.Delivery{Entry: e})
			}
			got := tr.view([]relay.AgentStatus{{Agent: "jose", Pending: 1}}, time.Now())
			if len(got) != 1 {
				t.Fatalf("rows %+v", got)
			}
			if got[0].State != tc.state || got[0].InFlight != tc.inFlight || got[0].LastError != tc.lastErr || got[0].Pending != 1 {
				t.Fatalf("got %+v, want state %q, in flight %q, error %q", got[0], tc.state, tc.inFlight, tc.lastErr)
			}
		})
	}
}

// TestChart: replies per minute of the last hour, older ones forgotten.
func TestChart(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 10, 30, 30, 0, time.UTC)
	clock := relaytest.NewClock(now)
	tr := newTracker(clock)
	for _, at := range []time.Time{now.Add(-2 * time.Hour), now.Add(-5 * time.Minute), now, now} {
		tr.observe(relay.Delivery{Entry: relay.JournalEntry{Kind: relay.KindReply, At: at, Frame: "<a><OK>$", Agent: "a"}})
	}
	c := tr.chart(now)
	if len(c.Bars) != 60 || c.Total != 3 || c.Max != 2 || c.Last != 2 || c.Bars[54].N != 1 {
		t.Fatalf("chart %+v", c)
	}
	if c.Bars[59].H != chartH || c.Bars[54].H != chartH/2 {
		t.Fatalf("heights %d %d", c.Bars[59].H, c.Bars[54].H)
	}
}

// TestStartStopTwice: the lifecycle contract.
func TestStartStopTwice(t *testing.T) {
	t.Parallel()
	r := newRig(t, rigOptions{})
	r.h.Stop()
	r.h.Stop()
	if err := r.h.Start(context.Background()); err == nil {
		t.Fatal("Start after Stop succeeded")
	}
}

// TestEntryIsOneLine: a line break in a frame cannot end the SSE event or
// start a field of its own.
func TestEntryIsOneLine(t *testing.T) {
	t.Parallel()
	for _, frame := range []string{"<a><S>$\nevent: summary", "<a>\r\ndata: x", "<a>\rid: 99", hostile} {
		line, err := renderEntry(relay.JournalEntry{ID: 1, Kind: relay.KindRejected, Agent: "a\nb", Frame: frame, Origin: "erp"})
		if err != nil {
			t.Fatal(err)
		}
		if strings.ContainsAny(string(line), "\r\n") {
			t.Errorf("frame %q renders over several lines: %q", frame, line)
		}
	}
}

// TestHistoryAtStart: a dashboard started after the agents acted shows
// their states, from the journal behind the feed's position.
func TestHistoryAtStart(t *testing.T) {
	t.Parallel()
	r := newRig(t, rigOptions{engine: true})
	r.mem.InsertTTI(0, "<gil><L><ON>$")
	r.mem.InsertTTI(0, "<gil><P><ON><1>$")
	wait.For(t, "the replies", func() bool { return len(r.mem.TTO()) == 2 })
	wait.For(t, "the feed", func() bool { return r.feed.Position() >= 4 })
	late, err := New(Config{Store: r.store, Nodes: r.store, Feed: r.feed})
	if err != nil {
		t.Fatal(err)
	}
	if err := late.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer late.Stop()
	wait.For(t, "gil paused", func() bool {
		rows := late.tracker.view(nil, time.Now())
		return len(rows) == 1 && rows[0].State == "paused"
	})
}

// TestStreamResumes: a stream asked to start behind the head (a page's
// first view, a reconnect after a lag) gets every entry after it, in order.
func TestStreamResumes(t *testing.T) {
	t.Parallel()
	r := newRig(t, rigOptions{})
	var msgs []relay.Inbound
	for range 2 * viewerBuffer {
		msgs = append(msgs, relay.Inbound{Source: relay.SourceCLI, Raw: "<hal><S>$"})
	}
	if _, err := r.mem.Enqueue(context.Background(), msgs, time.Now(), relay.DefaultMaxFrame); err != nil {
		t.Fatal(err)
	}
	wait.For(t, "the feed", func() bool { return r.feed.Position() == int64(len(msgs)) })
	c := r.client()
	r.get(c, "/ui/")
	v := r.open(c, "/ui/stream?after=10")
	wait.For(t, "the entries", func() bool { return v.count("entry") == len(msgs)-10 })
	want := int64(11)
	for _, e := range v.all() {
		if e.name != "entry" {
			continue
		}
		if e.id != itoa(want) {
			t.Fatalf("entry id %s, want %d", e.id, want)
		}
		want++
	}
}

// fakeDriver reports a link state.
type fakeDriver struct {
	mu sync.Mutex
	h  relay.DriverHealth
}

func (d *fakeDriver) Health() relay.DriverHealth {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.h
}

func (d *fakeDriver) set(h relay.DriverHealth) {
	d.mu.Lock()
	d.h = h
	d.mu.Unlock()
}

// panel returns a panel of the latest summary, after a refresh.
func (r *rig) panel(clock *relaytest.Clock, name string) string {
	r.t.Helper()
	_, changed := r.h.latest()
	if !clock.WaitForWaiters(1, wait.Safety) {
		r.t.Fatal("the summary loop does not wait for the clock")
	}
	clock.Advance(time.Second)
	select {
	case <-changed:
	case <-time.After(wait.Safety):
		r.t.Fatal("no summary after the interval")
	}
	snap, _ := r.h.latest()
	return string(snap.fragments[name])
}

// TestHealthShowsTheDriverAndTheLeader: the switch driver's link state
// (connected, reconnecting with its last error, standby) and the relay
// holding the scheduler lock.
func TestHealthShowsTheDriverAndTheLeader(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	clock := relaytest.NewClock(now)
	d := &fakeDriver{h: relay.DriverHealth{Connected: true, Since: now.Add(-90 * time.Second), Detail: "2 command connections"}}
	r := newRig(t, rigOptions{cfg: Config{Clock: clock, Interval: time.Second, Driver: d}})
	if err := r.mem.Heartbeat(context.Background(), relay.Node{ID: "node-2", Host: "host-b", Version: "v1", Holds: []string{relay.LockScheduler}}, now); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		h    relay.DriverHealth
		want []string
	}{
		{"connected", relay.DriverHealth{Connected: true, Since: now.Add(-90 * time.Second), Detail: "2 command connections"},
			[]string{`id="driver" class="card"`, "connected", "for 1m3", "2 command connections"}},
		{"reconnecting", relay.DriverHealth{Since: now.Add(-5 * time.Second), Reconnects: 3, LastError: "dial tcp: <refused>"},
			[]string{`id="driver" class="card bad"`, "reconnecting", "3 reconnects", "last error: dial tcp: &lt;refused&gt;"}},
		{"standby", relay.DriverHealth{Standby: true}, []string{`id="driver" class="card"`, "standby"}},
	} {
		d.set(tc.h)
		health := r.panel(clock, "health")
		for _, w := range tc.want {
			if !strings.Contains(health, w) {
				t.Errorf("%s: the health strip lacks %q:\n%s", tc.name, w, health)
			}
		}
		if !strings.Contains(health, `<b>node-2</b> <span class="tag">leader</span>`) || strings.Contains(health, `<b>node-1</b> <span class="tag">`) {
			t.Errorf("%s: the leader is not node-2 alone:\n%s", tc.name, health)
		}
	}
}

// TestJobsPanel: each job's schedule, next slot and last run.
func TestJobsPanel(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	clock := relaytest.NewClock(now)
	r := newRig(t, rigOptions{cfg: Config{Clock: clock, Interval: time.Second, Jobs: testJobs(t)}})
	ctx := context.Background()
	id, err := r.mem.BeginRun(ctx, relay.JobRun{Job: "retention", Slot: now.Add(-7 * time.Hour), Node: "node-1#a", Status: relay.RunRunning,
		StartedAt: now.Add(-7 * time.Hour), HeartbeatAt: now.Add(-7 * time.Hour)}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.mem.UpdateRun(ctx, id, relay.RunFailed, now.Add(-7*time.Hour+1500*time.Millisecond), `{"error":"<boom>"}`); err != nil {
		t.Fatal(err)
	}
	jobs := r.panel(clock, "jobs")
	for _, w := range []string{
		"leader: none",
		`<tr data-job="retention"><td>retention</td><td>0 3 * * *</td><td>2026-12-02 03:00 UTC</td>`,
		`2026-12-01 03:00 UTC (7h00m ago)</td><td><span class="run failed">failed</span></td><td>1s</td><td>node-1#a</td>`,
		`<tr data-job="dead-retry"><td>dead-retry</td><td>@every 5m</td><td>2026-12-01 10:05 UTC</td><td colspan="4" class="muted">never run</td>`,
		`<tr data-job="agent-sync"><td>agent-sync</td><td><span class="muted">disabled</span></td><td>–</td>`,
	} {
		if !strings.Contains(jobs, w) {
			t.Errorf("the jobs panel lacks %q:\n%s", w, jobs)
		}
	}
}

// TestBacklogAges: the oldest pending T_TTI row is dated by when this relay
// first saw it (at least since the first look for rows already there), the
// oldest unread T_TTO row by the journal.
func TestBacklogAges(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	clock := relaytest.NewClock(now)
	mem := memstore.New()
	mem.InsertTTI(0, "<ana><S>$") // there before the dashboard starts
	r := newRigOn(t, mem, rigOptions{cfg: Config{Clock: clock, Interval: time.Second}})
	age := func(id string) string {
		q := r.panel(clock, "queues")
		_, after, ok := strings.Cut(q, `id="`+id+`">`)
		if !ok {
			t.Fatalf("no #%s in %s", id, q)
		}
		return after[:strings.Index(after, "<")]
	}
	if got := age("tti-age"); got != "≥ 1s" {
		t.Errorf("a row there before the first look: %q", got)
	}
	if got := age("tto-age"); got != "–" {
		t.Errorf("T_TTO empty: %q", got)
	}
	// The relay takes the old row; a new one arrives and waits.
	if _, _, err := mem.Intake(context.Background(), relay.IntakeRequest{Limit: 10, Now: clock.Now()}, relay.ClaimRequest{}); err != nil {
		t.Fatal(err)
	}
	age("tti-age")
	mem.InsertTTI(0, "<bob><S>$")
	for range 3 {
		age("tti-age")
	}
	if got := age("tti-age"); got != "3s" {
		t.Errorf("a row first seen 3 intervals ago: %q", got)
	}
	if err := mem.Publish(context.Background(), []relay.Frame{relay.EndCall("ana")}, clock.Now().Add(-90*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := mem.Publish(context.Background(), []relay.Frame{relay.EndCall("bob")}, clock.Now()); err != nil {
		t.Fatal(err)
	}
	if got := age("tto-age"); got != "1m31s" {
		t.Errorf("two unread, the oldest journaled 90s before: %q", got)
	}
}

// TestArrivals: sightings of T_TTI's highest id date its lowest.
func TestArrivals(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	type look struct {
		first, last int64
		s           int
		age         int
		atLeast     bool
	}
	for _, tc := range []struct {
		name  string
		looks []look
	}{
		{"empty", []look{{0, 0, 0, 0, false}, {0, 0, 2, 0, false}}},
		{"there at the first look", []look{{5, 9, 0, 0, true}, {5, 12, 2, 2, true}}},
		{"arrived after a look", []look{{0, 0, 0, 0, false}, {7, 7, 2, 0, false}, {7, 9, 4, 2, false}, {8, 11, 6, 2, false}, {10, 11, 8, 2, false}}},
		{"taken as fast as it comes", []look{{0, 0, 0, 0, false}, {1, 1, 2, 0, false}, {0, 0, 4, 0, false}, {2, 2, 6, 0, false}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var a arrivals
			for i, l := range tc.looks {
				age, atLeast := a.observe(l.first, l.last, at(l.s))
				if age != time.Duration(l.age)*time.Second || atLeast != l.atLeast {
					t.Fatalf("look %d (%d..%d at %ds): age %v, at least %v; want %ds, %v", i, l.first, l.last, l.s, age, atLeast, l.age, l.atLeast)
				}
			}
		})
	}
}

// TestHealthSaysWhenTheDriverTellsNothing: a driver without Health is
// named, not left out; probes in trouble are shown so.
func TestHealthSaysWhenTheDriverTellsNothing(t *testing.T) {
	t.Parallel()
	clock := relaytest.NewClock(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
	r := newRig(t, rigOptions{cfg: Config{Clock: clock, Interval: time.Second, Switch: "tactium", Probes: []Probe{
		{Name: "webhook crm", Check: func() (string, bool) { return "disabled, 12 behind", true }},
		{Name: "socket bridge", State: func() string { return "2 clients" }},
	}}})
	health := r.panel(clock, "health")
	for _, w := range []string{
		"<b>switch (tactium)</b> <span class=\"muted\">link state not reported by this driver</span>",
		`<div class="card bad"><b>webhook crm</b><br>disabled, 12 behind</div>`,
		`<div class="card"><b>socket bridge</b><br>2 clients</div>`,
	} {
		if !strings.Contains(health, w) {
			t.Errorf("the health strip lacks %q:\n%s", w, health)
		}
	}
}
