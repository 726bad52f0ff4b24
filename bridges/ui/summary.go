package ui

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// summary is what one interval shows; every field is read once per interval.
type summary struct {
	At      time.Time
	Version string
	Nodes   []nodeView
	Probes  []probeView
	Queue   relay.QueueStatus
	QueueOK bool
	Backlog backlogView
	Driver  *driverView // nil: no link state reported
	Switch  string      // the driver's name
	Leader  string      // the node holding the scheduler lock, "" when none
	Jobs    []jobView
	Chart   chart
	Agents  []agentView
	Dead    []relay.DeadLetter
	DeadMax bool // the list was cut at DeadLimit
	Errors  []string
}

type nodeView struct {
	relay.Node
	Age   time.Duration
	Stale bool
}

type probeView struct {
	Name, State string
	Bad         bool
}

// backlogView is the ages of the ERP's tables' oldest waiting rows.
type backlogView struct {
	OK         bool
	TTIAge     time.Duration // 0 when T_TTI is empty
	TTIAtLeast bool          // there before this relay's first look
	TTOAge     time.Duration
	TTOKnown   bool // the journal dates it
	TTOAtLeast bool
}

type driverView struct {
	relay.DriverHealth
	For time.Duration // since Since
}

// State is the one word the strip shows.
func (d driverView) State() string {
	switch {
	case d.Connected:
		return "connected"
	case d.Standby:
		return "standby"
	case d.Idle:
		return "idle"
	case d.Reconnects > 0 || d.LastError != "":
		return "reconnecting"
	}
	return "connecting"
}

type jobView struct {
	Name     string
	Schedule string
	Enabled  bool
	Next     time.Time
	Last     *relay.JobRun
	LastAge  time.Duration // since the last run started
}

type agentView struct {
	Login     string
	State     string
	Pending   int64
	InFlight  string        // the verb of its oldest unanswered command
	Age       time.Duration // since that command arrived
	AtSwitch  bool          // the store says it is held under a lease
	LastError string
}

// staleAfter marks a node whose heartbeat is this old (the heartbeat beats
// every few seconds).
const staleAfter = 30 * time.Second

func (h *Handler) compute(ctx context.Context) summary {
	now := h.cfg.Clock.Now()
	s := summary{At: now, Version: h.cfg.Version, Switch: h.cfg.Switch}
	if q, err := h.cfg.Store.Status(ctx, now); err != nil {
		s.Errors = append(s.Errors, "queue status: "+err.Error())
	} else {
		s.Queue, s.QueueOK = q, true
		if b, err := h.cfg.Store.Backlog(ctx, q.Outbox); err != nil {
			s.Errors = append(s.Errors, "backlog: "+err.Error())
		} else {
			s.Backlog = h.backlog(b, q, now)
		}
	}
	if h.cfg.Driver != nil {
		d := h.cfg.Driver.Health()
		s.Driver = &driverView{DriverHealth: d}
		if !d.Since.IsZero() {
			s.Driver.For = now.Sub(d.Since)
		}
	}
	if nodes, err := h.cfg.Nodes.Nodes(ctx); err != nil {
		s.Errors = append(s.Errors, "nodes: "+err.Error())
	} else {
		for _, n := range nodes {
			age := now.Sub(n.HeartbeatAt)
			s.Nodes = append(s.Nodes, nodeView{Node: n, Age: age, Stale: age > staleAfter})
			if age <= staleAfter && slices.Contains(n.Holds, relay.LockScheduler) {
				s.Leader = n.ID
			}
		}
	}
	s.Jobs = h.jobs(ctx, now, &s.Errors)
	for _, p := range h.cfg.Probes {
		v := probeView{Name: p.Name}
		if p.Check != nil {
			v.State, v.Bad = p.Check()
		} else {
			v.State = p.State()
		}
		s.Probes = append(s.Probes, v)
	}
	agents, err := h.cfg.Store.Agents(ctx, now)
	if err != nil {
		s.Errors = append(s.Errors, "agents: "+err.Error())
	}
	s.Agents = h.tracker.view(agents, now)
	dead, err := h.cfg.Store.DeadLetters(ctx, 0, h.cfg.DeadLimit+1)
	if err != nil {
		s.Errors = append(s.Errors, "dead letters: "+err.Error())
	}
	if len(dead) > h.cfg.DeadLimit {
		dead, s.DeadMax = dead[:h.cfg.DeadLimit], true
	}
	s.Dead = dead
	s.Chart = h.tracker.chart(now)
	return s
}

// tracker follows the journal: each login's state from the switch's replies
// and events, the verb it has at the switch, its last error; the replies
// per minute of the last hour; the latest entries for a page's first view.
type tracker struct {
	clock relay.Clock

	mu       sync.Mutex
	agents   map[string]*agentTrack // by folded login
	commands map[int64]relay.Frame  // commands awaiting their reply, by inbox id
	minutes  map[int64]int          // replies per minute (unix minute)
	recent   []relay.JournalEntry   // the last recentMax entries, oldest first
}

type agentTrack struct {
	login     string
	state     string
	waiting   []waitingCommand // unanswered, oldest first: the head is the one at the switch
	lastError string
	seen      time.Time
}

type waitingCommand struct {
	inboxID int64
	verb    string
	at      time.Time
}

// waitingMax bounds what is kept of an agent's unanswered commands (the
// head is what the page shows).
const waitingMax = 100

const (
	recentMax   = 100
	trackMax    = 5000 // logins followed; beyond, the oldest seen is forgotten
	commandsMax = 10000
)

func newTracker(c relay.Clock) *tracker {
	return &tracker{clock: c, agents: map[string]*agentTrack{}, commands: map[int64]relay.Frame{}, minutes: map[int64]int{}}
}

func fold(login string) string { return strings.ToLower(strings.TrimSpace(login)) }

func (t *tracker) agent(login string) *agentTrack {
	k := fold(login)
	a := t.agents[k]
	if a == nil {
		if len(t.agents) >= trackMax {
			t.forgetOldest()
		}
		a = &agentTrack{login: strings.TrimSpace(login)}
		t.agents[k] = a
	}
	return a
}

func (t *tracker) forgetOldest() {
	var oldest string
	var at time.Time
	for k, a := range t.agents {
		if oldest == "" || a.seen.Before(at) {
			oldest, at = k, a.seen
		}
	}
	delete(t.agents, oldest)
}

// stateAfterOK is the state a command's OK reply leaves its agent in.
func stateAfterOK(cmd relay.Frame) string {
	switch relay.Verb(cmd.Verb()) {
	case relay.VerbLogon:
		if strings.EqualFold(cmd.Arg(0), "OFF") {
			return relay.StateLoggedOff.String()
		}
		return relay.StateAvailable.String()
	case relay.VerbPause:
		if strings.EqualFold(cmd.Arg(0), "OFF") {
			return relay.StateAvailable.String()
		}
		return relay.StatePaused.String()
	case relay.VerbWrapUpEnd:
		return relay.StateAvailable.String()
	case relay.VerbDial:
		return relay.StateBusy.String()
	}
	return ""
}

// observe is the feed subscription's fn.
func (t *tracker) observe(d relay.Delivery) {
	e := d.Entry
	now := t.clock.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.recent = append(t.recent, e)
	if len(t.recent) > recentMax {
		t.recent = slices.Delete(t.recent, 0, len(t.recent)-recentMax)
	}
	if e.Kind == relay.KindReply {
		at := e.At
		if at.IsZero() {
			at = now
		}
		t.minutes[at.Unix()/60]++
		for m := range t.minutes {
			if m < now.Unix()/60-60 {
				delete(t.minutes, m)
			}
		}
	}
	if strings.TrimSpace(e.Agent) == "" {
		return
	}
	f, err := relay.Parse(e.Frame)
	a := t.agent(e.Agent)
	a.seen = now
	switch e.Kind {
	case relay.KindCommand:
		if err != nil {
			return
		}
		if len(t.commands) >= commandsMax {
			clear(t.commands) // replies lost to a crash: forget rather than grow
		}
		t.commands[e.InboxID] = f
		if len(a.waiting) < waitingMax {
			a.waiting = append(a.waiting, waitingCommand{inboxID: e.InboxID, verb: f.Verb(), at: e.At})
		}
	case relay.KindRejected:
		a.lastError = "rejected: " + e.Frame
	case relay.KindReply:
		cmd, ok := t.commands[e.InboxID]
		delete(t.commands, e.InboxID)
		a.waiting = slices.DeleteFunc(a.waiting, func(w waitingCommand) bool { return w.inboxID == e.InboxID })
		if e.Error != "" {
			a.lastError = e.Error
		}
		if err != nil {
			return
		}
		switch f.Verb() {
		case "OK":
			if ok {
				if s := stateAfterOK(cmd); s != "" {
					a.state = s
				}
			}
		case "S":
			a.state = stateName(f.Arg(0))
		case "ERR":
			a.lastError = strings.TrimSpace(f.Arg(0) + " " + f.Arg(1))
		case "EndCall":
			a.state = relay.StateWrapUp.String()
		}
	case relay.KindEvent:
		if e.Error != "" {
			a.lastError = e.Error
		}
		if err != nil {
			return
		}
		switch f.Verb() {
		case "A", "R":
			a.state = relay.StateBusy.String()
		case "EndCall":
			a.state = relay.StateWrapUp.String()
		case "S":
			a.state = stateName(f.Arg(0))
		}
	}
}

func stateName(code string) string {
	for s := relay.StateLoggedOff; s <= relay.StateWrapUp; s++ {
		if code == s.String() || code == string(rune('0'+int(s))) {
			return s.String()
		}
	}
	return "state " + code
}

// agents joins the store's per-agent counts with what the journal told.
func (t *tracker) view(store []relay.AgentStatus, now time.Time) []agentView {
	t.mu.Lock()
	defer t.mu.Unlock()
	rows := map[string]*agentView{}
	for _, s := range store {
		rows[fold(s.Agent)] = &agentView{Login: s.Agent, Pending: s.Pending, AtSwitch: s.InFlight > 0}
	}
	for k, a := range t.agents {
		v := rows[k]
		if v == nil {
			v = &agentView{Login: a.login}
			rows[k] = v
		}
		v.State, v.LastError = a.state, a.lastError
		if len(a.waiting) > 0 {
			v.InFlight, v.Age = a.waiting[0].verb, now.Sub(a.waiting[0].at)
		}
	}
	out := make([]agentView, 0, len(rows))
	for _, v := range rows {
		if v.State == "" {
			v.State = "unknown"
		}
		out = append(out, *v)
	}
	slices.SortFunc(out, func(a, b agentView) int { return strings.Compare(fold(a.Login), fold(b.Login)) })
	return out
}

// recentEntries returns the latest entries, newest first.
func (t *tracker) recentEntries() []relay.JournalEntry {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := slices.Clone(t.recent)
	slices.Reverse(out)
	return out
}

// chart is the replies per minute of the last hour, drawn as SVG bars.
type chart struct {
	Bars  []bar
	Max   int
	Total int
	Last  int // the current minute
}

type bar struct {
	X, Y, H int
	N       int
	Label   string
}

const (
	chartW = 600
	chartH = 80
	barW   = chartW / 60
)

func (t *tracker) chart(now time.Time) chart {
	t.mu.Lock()
	defer t.mu.Unlock()
	cur := now.Unix() / 60
	var c chart
	counts := make([]int, 60)
	for i := range counts {
		counts[i] = t.minutes[cur-59+int64(i)]
		c.Max = max(c.Max, counts[i])
		c.Total += counts[i]
	}
	c.Last = counts[59]
	for i, n := range counts {
		hgt := 0
		if c.Max > 0 {
			hgt = n * chartH / c.Max
		}
		if n > 0 {
			hgt = max(hgt, 1)
		}
		c.Bars = append(c.Bars, bar{X: i * barW, Y: chartH - hgt, H: hgt, N: n,
			Label: time.Unix((cur-59+int64(i))*60, 0).UTC().Format("15:04")})
	}
	return c
}

// backlog dates the ERP's tables' oldest rows: T_TTI's from this relay's
// sightings (arrivals), T_TTO's from the journal (relay.Backlog).
func (h *Handler) backlog(b relay.Backlog, q relay.QueueStatus, now time.Time) backlogView {
	v := backlogView{OK: true}
	v.TTIAge, v.TTIAtLeast = h.arrivals.observe(b.TTIFirst, b.TTILast, now)
	if q.Outbox > 0 && !b.TTOOldest.IsZero() {
		v.TTOAge, v.TTOKnown, v.TTOAtLeast = max(now.Sub(b.TTOOldest), 0), true, b.TTOAtLeast
	}
	return v
}

// jobs is each scheduled job's next slot and last run: one read per job.
func (h *Handler) jobs(ctx context.Context, now time.Time, errs *[]string) []jobView {
	var out []jobView
	for _, j := range h.cfg.Jobs {
		v := jobView{Name: j.Name, Enabled: j.Enabled}
		v.Schedule = j.Schedule.String()
		if j.Enabled {
			v.Next = j.Schedule.Next(now) // zero for a spec with no slot
		}
		if h.cfg.Runs != nil {
			runs, err := h.cfg.Runs.JobRuns(ctx, j.Name, 1)
			if err != nil {
				*errs = append(*errs, "job runs: "+err.Error())
				return out
			}
			if len(runs) > 0 {
				v.Last, v.LastAge = &runs[0], now.Sub(runs[0].StartedAt)
			}
		}
		out = append(out, v)
	}
	return out
}
