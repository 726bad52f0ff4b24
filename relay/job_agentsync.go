package relay

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"time"
)

// SourceJob marks the commands scheduled jobs enqueue (agent-sync's S).
const SourceJob = "job"

// AgentSyncStore is what agent-sync needs: the known agents, the queue,
// the journal for the replies, and its previous run's states.
type AgentSyncStore interface {
	Operators
	Sources
	JournalReader
	JobRuns
}

// AgentSyncJob asks the switch for the state of every agent the relay
// knows (relay_agent_status: commands pending or activity in the last day)
// with <login><S>$ through the relay's own queue (source "job", so each
// command keeps its agent's order and is journaled like any other), waits
// up to Wait for the replies, and reports the agents whose state differs
// from the last run's: an agent the switch logged off behind the ERP's back
// shows as a change from available to logged-off.
//
// Each difference is journaled as a note (What NoteStateDiffers, the
// agent's login in agent), so a DBA finds it beside the agent's messages.
type AgentSyncJob struct {
	Name     string // the job's name, to find its previous run ("agent-sync")
	Store    AgentSyncStore
	Notes    Notebook
	Clock    Clock
	Logger   *slog.Logger
	Wait     time.Duration // for the replies (30s)
	Poll     time.Duration // between journal reads while waiting (1s)
	MaxFrame int
}

// Run is the job's JobFunc.
func (j AgentSyncJob) Run(ctx context.Context, run RunInfo) (map[string]any, error) {
	clock, log := j.Clock, j.Logger
	if clock == nil {
		clock = SystemClock{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	waitFor, poll := j.Wait, j.Poll
	if waitFor <= 0 {
		waitFor = 30 * time.Second
	}
	if poll <= 0 {
		poll = time.Second
	}
	now := clock.Now()
	known, err := j.Store.Agents(ctx, now)
	if err != nil {
		return nil, fmt.Errorf("read agents: %w", err)
	}
	head, err := j.Store.JournalHead(ctx)
	if err != nil {
		return nil, fmt.Errorf("journal head: %w", err)
	}
	msgs := make([]Inbound, 0, len(known))
	for _, a := range known {
		msgs = append(msgs, Inbound{Source: SourceJob, Ref: "agent-sync " + run.Slot.UTC().Format(time.RFC3339), Raw: NewFrame(a.Agent, string(VerbStatus)).String()})
	}
	asked := map[int64]string{}
	if len(msgs) > 0 {
		queued, err := j.Store.Enqueue(ctx, msgs, now, j.MaxFrame)
		if err != nil {
			return nil, fmt.Errorf("enqueue S: %w", err)
		}
		for i, q := range queued {
			if q.Err == nil && q.ID != 0 {
				asked[q.ID] = known[i].Agent
			}
		}
	}
	states := map[string]string{}
	deadline := clock.Now().Add(waitFor)
	for len(asked) > 0 {
		entries, err := j.Store.JournalSince(ctx, head, []string{KindReply}, 1000)
		if err != nil {
			return nil, fmt.Errorf("read replies: %w", err)
		}
		for _, e := range entries {
			head = e.ID
			agent, ok := asked[e.InboxID]
			if !ok {
				continue
			}
			delete(asked, e.InboxID)
			states[agent] = replyState(e.Frame)
		}
		if len(entries) == 1000 {
			continue
		}
		if len(asked) == 0 || !clock.Now().Before(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-clock.After(poll):
		}
	}
	for _, agent := range asked {
		states[agent] = "no-reply"
	}
	previous, since := j.previousStates(ctx, run)
	var changes []map[string]string
	var notes []Note
	for _, agent := range slices.Sorted(maps.Keys(states)) {
		now := states[agent]
		if was, ok := previous[agent]; ok && was != now {
			changes = append(changes, map[string]string{"agent": agent, "was": was, "now": now})
			log.Warn("agent state changed since the last sync", "agent", agent, "was", was, "now", now)
			notes = append(notes, Note{Agent: agent, Origin: JobOrigin(j.name(run)), What: NoteStateDiffers,
				Text: fmt.Sprintf("the switch says %s; the sync of %s saw %s", now, since.UTC().Format(time.RFC3339), was)})
		}
	}
	summary := map[string]any{"asked": len(msgs), "answered": len(msgs) - len(asked), "states": states, "changes": changes}
	if len(notes) > 0 && j.Notes != nil {
		if err := j.Notes.Note(ctx, notes, clock.Now()); err != nil {
			return summary, fmt.Errorf("journal the differences: %w", err)
		}
	}
	return summary, nil
}

func (j AgentSyncJob) name(run RunInfo) string {
	if j.Name != "" {
		return j.Name
	}
	return run.Job
}

// replyState reads <login><S><code>$ as the state's name, or the ERR.
func replyState(raw string) string {
	f, err := Parse(raw)
	switch {
	case err != nil || len(f) < 2:
		return "unreadable"
	case f[1] == "S" && len(f) > 2:
		if code, err := strconv.Atoi(f[2]); err == nil {
			return AgentState(code).String()
		}
		return "state-" + f[2]
	case f[1] == "ERR":
		return "error"
	}
	return f[1]
}

// previousStates are the states the last finished run saw, and its slot.
func (j AgentSyncJob) previousStates(ctx context.Context, run RunInfo) (map[string]string, time.Time) {
	runs, err := j.Store.JobRuns(ctx, j.name(run), 10)
	if err != nil {
		return nil, time.Time{}
	}
	for _, r := range runs {
		if r.Status != RunOK {
			continue
		}
		var s struct {
			States map[string]string `json:"states"`
		}
		if json.Unmarshal([]byte(r.Summary), &s) == nil {
			return s.States, r.Slot
		}
	}
	return nil, time.Time{}
}
