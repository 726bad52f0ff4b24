package httpbridge

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// maxDeadScan bounds the dead letters one filtered retry looks through.
const maxDeadScan = 100000

func (b *Bridge) getStatus(w http.ResponseWriter, r *http.Request) {
	now := b.cfg.Clock.Now()
	st, err := b.cfg.Store.Status(r.Context(), now)
	if err != nil {
		b.dbError(w, "read status", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"pending": st.Pending, "inbox": st.Inbox, "ready": st.Ready, "in_flight": st.InFlight,
		"retrying": st.Retrying, "dead": st.Dead, "outbox": st.Outbox,
		"oldest_age_s": st.OldestAge.Seconds(), "done_1m": st.Done1m,
		"webhooks": b.webhookStates(),
	})
}

func (b *Bridge) dbError(w http.ResponseWriter, what string, err error) {
	b.m.dbErrors.Inc()
	b.log.Warn(what, "err", err)
	writeError(w, http.StatusServiceUnavailable, codeUnavailable, what+": the database did not answer; retry")
}

func (b *Bridge) getAgents(w http.ResponseWriter, r *http.Request) {
	list, err := b.cfg.Store.Agents(r.Context(), b.cfg.Clock.Now())
	if err != nil {
		b.dbError(w, "read agents", err)
		return
	}
	type agentJSON struct {
		Agent        string `json:"agent"`
		Pending      int64  `json:"pending"`
		InFlight     int64  `json:"in_flight"`
		LastActivity string `json:"last_activity,omitempty"`
	}
	out := make([]agentJSON, 0, len(list))
	for _, a := range list {
		j := agentJSON{Agent: a.Agent, Pending: a.Pending, InFlight: a.InFlight}
		if !a.LastActivity.IsZero() {
			j.LastActivity = a.LastActivity.UTC().Format(time.RFC3339)
		}
		out = append(out, j)
	}
	writeJSON(w, http.StatusOK, map[string]any{"agents": out})
}

type deadJSON struct {
	ID         int64  `json:"id"`
	InboxID    int64  `json:"inbox_id,omitempty"`
	Source     string `json:"source"`
	Agent      string `json:"agent"`
	Verb       string `json:"verb,omitempty"`
	Frame      string `json:"frame"`
	Code       string `json:"code,omitempty"`
	Reason     string `json:"reason"`
	Attempts   int    `json:"attempts"`
	EnqueuedAt string `json:"enqueued_at"`
	DiedAt     string `json:"died_at"`
	Retryable  bool   `json:"retryable"`
}

func (b *Bridge) getDead(w http.ResponseWriter, r *http.Request) {
	after, _, err := parseAfter(r.URL.Query().Get("after"))
	if err != nil {
		writeError(w, http.StatusBadRequest, codeBadRequest, err.Error())
		return
	}
	limit := 100
	if s := r.URL.Query().Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit <= 0 {
			writeError(w, http.StatusBadRequest, codeBadRequest, "limit must be a positive integer")
			return
		}
		limit = min(limit, 1000)
	}
	list, err := b.cfg.Store.DeadLetters(r.Context(), after, limit)
	if err != nil {
		b.dbError(w, "read dead letters", err)
		return
	}
	out := make([]deadJSON, 0, len(list))
	for _, d := range list {
		out = append(out, deadJSON{ID: d.ID, InboxID: d.InboxID, Source: d.Source, Agent: d.Agent, Verb: string(d.Verb),
			Frame: d.Frame, Code: d.Code, Reason: d.Reason, Attempts: d.Attempts,
			EnqueuedAt: d.EnqueuedAt.UTC().Format(time.RFC3339Nano), DiedAt: d.DiedAt.UTC().Format(time.RFC3339Nano),
			Retryable: d.Verb != ""})
	}
	writeJSON(w, http.StatusOK, map[string]any{"dead": out})
}

func pathID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusBadRequest, codeBadRequest, "the id is a positive integer")
		return 0, false
	}
	return id, true
}

func (b *Bridge) retryDead(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	n, err := b.cfg.Store.RetryDead(r.Context(), []int64{id}, b.cfg.Clock.Now())
	if err != nil {
		b.dbError(w, "retry dead letter", err)
		return
	}
	if n == 0 {
		writeError(w, http.StatusNotFound, codeNotFound, "no retryable dead letter with this id")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"retried": n})
}

func (b *Bridge) dropDead(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	n, err := b.cfg.Store.DropDead(r.Context(), []int64{id})
	if err != nil {
		b.dbError(w, "drop dead letter", err)
		return
	}
	if n == 0 {
		writeError(w, http.StatusNotFound, codeNotFound, "no dead letter with this id")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"dropped": n})
}

// retryDeadMatching retries every retryable dead letter whose reason
// contains reason= (and, when given, of agent=).
func (b *Bridge) retryDeadMatching(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	reason, agent := q.Get("reason"), q.Get("agent")
	if reason == "" && agent == "" && q.Get("all") != "true" {
		writeError(w, http.StatusBadRequest, codeBadRequest, "give reason= or agent= (or all=true to retry every dead letter)")
		return
	}
	var ids []int64
	after := int64(0)
	for scanned := 0; scanned < maxDeadScan; {
		list, err := b.cfg.Store.DeadLetters(r.Context(), after, 1000)
		if err != nil {
			b.dbError(w, "read dead letters", err)
			return
		}
		for _, d := range list {
			after = d.ID
			if d.Verb == "" || !strings.Contains(d.Reason, reason) || (agent != "" && !strings.EqualFold(d.Agent, agent)) {
				continue
			}
			ids = append(ids, d.ID)
		}
		scanned += len(list)
		if len(list) < 1000 {
			break
		}
	}
	n := 0
	for len(ids) > 0 {
		k := min(len(ids), 500)
		got, err := b.cfg.Store.RetryDead(r.Context(), ids[:k], b.cfg.Clock.Now())
		if err != nil {
			b.dbError(w, "retry dead letters", err)
			return
		}
		n += got
		ids = ids[k:]
	}
	writeJSON(w, http.StatusOK, map[string]any{"retried": n})
}

var _ = relay.KindEvent
