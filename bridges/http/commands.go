package httpbridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// commandBookSize bounds the commands queued here whose Pending
// GET /v1/commands/{id}?wait= waits on (the store answers the rest).
const commandBookSize = 1 << 16

// maxCommands bounds the commands one request may carry.
const maxCommands = 1000

// commandIn is one command of a JSON body: a frame, or its parts.
type commandIn struct {
	Frame string   `json:"frame"`
	Agent string   `json:"agent"`
	Verb  string   `json:"verb"`
	Args  []string `json:"args"`
}

func (c commandIn) raw() (string, error) {
	switch {
	case c.Frame != "" && (c.Agent != "" || c.Verb != "" || c.Args != nil):
		return "", errors.New("give either frame or agent, verb and args, not both")
	case c.Frame != "":
		return c.Frame, nil
	case c.Agent == "" || c.Verb == "":
		return "", errors.New("a command needs frame, or agent and verb")
	}
	// The frame would carry a '>' as ')': refuse rather than queue a command
	// for another agent or number than the one sent.
	for _, s := range append([]string{c.Agent, c.Verb}, c.Args...) {
		if strings.IndexByte(s, '>') >= 0 {
			return "", fmt.Errorf("a field cannot contain '>': %q", s)
		}
	}
	return relay.NewFrame(append([]string{c.Agent, c.Verb}, c.Args...)...).String(), nil
}

// commandOut is one command in an answer.
type commandOut struct {
	ID      int64       `json:"id,omitempty"`
	State   string      `json:"state"` // queued | done | refused
	Frame   string      `json:"frame,omitempty"`
	Replies []entryJSON `json:"replies,omitempty"`
	Error   *errorBody  `json:"error,omitempty"`
}

// Command states.
const (
	stateQueued  = "queued"
	stateDone    = "done"
	stateRefused = "refused"
)

// parseCommands reads a POST /v1/commands body.
func (b *Bridge) parseCommands(w http.ResponseWriter, r *http.Request) ([]string, int, *errorBody) {
	ct := r.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if ct == "" {
		mt, err = "text/plain", nil
	}
	if err != nil {
		return nil, http.StatusUnsupportedMediaType, &errorBody{codeContentType, "Content-Type must be text/plain or application/json"}
	}
	if cs := params["charset"]; cs != "" && !strings.EqualFold(cs, "utf-8") {
		return nil, http.StatusUnsupportedMediaType, &errorBody{codeContentType, "only charset=utf-8 is accepted"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, b.cfg.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, http.StatusRequestEntityTooLarge, &errorBody{codeTooLarge, fmt.Sprintf("the body is larger than %d bytes", b.cfg.MaxBodyBytes)}
		}
		return nil, http.StatusBadRequest, &errorBody{codeBadRequest, "read body: " + err.Error()}
	}
	var raws []string
	switch mt {
	case "text/plain":
		// One frame per line (a frame never holds a line break).
		for line := range strings.Lines(string(body)) {
			if line = strings.TrimRight(line, "\r\n"); strings.TrimSpace(line) != "" {
				raws = append(raws, line)
			}
		}
	case "application/json":
		var list []commandIn
		trimmed := strings.TrimSpace(string(body))
		if strings.HasPrefix(trimmed, "[") {
			err = strictJSON(body, &list)
		} else {
			var one commandIn
			err = strictJSON(body, &one)
			list = []commandIn{one}
		}
		if err != nil {
			return nil, http.StatusBadRequest, &errorBody{codeBadRequest, "malformed JSON: " + err.Error()}
		}
		for i, c := range list {
			raw, err := c.raw()
			if err != nil {
				return nil, http.StatusBadRequest, &errorBody{codeBadRequest, fmt.Sprintf("command %d: %v", i, err)}
			}
			raws = append(raws, raw)
		}
	default:
		return nil, http.StatusUnsupportedMediaType, &errorBody{codeContentType, "Content-Type must be text/plain or application/json"}
	}
	switch {
	case len(raws) == 0:
		return nil, http.StatusBadRequest, &errorBody{codeBadRequest, "no command in the body"}
	case len(raws) > maxCommands:
		return nil, http.StatusRequestEntityTooLarge, &errorBody{codeTooLarge, fmt.Sprintf("at most %d commands per request", maxCommands)}
	}
	return raws, 0, nil
}

func strictJSON(body []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// parseWait reads ?wait= as a Go duration or seconds, capped at WaitMax.
func (b *Bridge) parseWait(r *http.Request) (time.Duration, error) {
	s := r.URL.Query().Get("wait")
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		n, nerr := strconv.ParseFloat(s, 64)
		if nerr != nil || n < 0 {
			return 0, fmt.Errorf("wait must be a duration such as 5s, not %q", s)
		}
		d = time.Duration(n * float64(time.Second))
	}
	if d < 0 {
		return 0, fmt.Errorf("wait must not be negative")
	}
	return min(d, b.cfg.WaitMax), nil
}

func (b *Bridge) postCommands(w http.ResponseWriter, r *http.Request) {
	wait, err := b.parseWait(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, codeBadRequest, err.Error())
		return
	}
	raws, status, eb := b.parseCommands(w, r)
	if eb != nil {
		writeError(w, status, eb.Code, eb.Message)
		return
	}
	if b.stopping.Load() {
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, codeUnavailable, "the relay is stopping; retry on another relay or later")
		return
	}
	ref := b.cfg.Node + "/" + orDash(tokenName(r)) + "@" + r.RemoteAddr
	msgs := make([]relay.Inbound, len(raws))
	for i, raw := range raws {
		msgs[i] = relay.Inbound{Source: relay.SourceHTTP, Ref: ref, Raw: raw}
	}
	start := b.cfg.Clock.Now()
	pend, err := b.feed.Submit(r.Context(), msgs)
	switch {
	case errors.Is(err, relay.ErrFeedBusy):
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, codeBusy, "too many commands waiting to be queued; retry shortly")
		return
	case errors.Is(err, relay.ErrFeedStopped):
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, codeUnavailable, "the relay is stopping")
		return
	case err != nil:
		b.log.Warn("queue commands", "err", err)
		writeError(w, http.StatusServiceUnavailable, codeUnavailable, "the queue could not take the commands; retry")
		return
	}
	out := make([]commandOut, len(pend))
	var refused *errorBody
	for i, p := range pend {
		out[i] = commandOut{ID: p.ID, State: stateQueued, Frame: raws[i]}
		if p.Err != nil {
			out[i].State, out[i].Error = stateRefused, &errorBody{Code: p.Err.Code, Message: p.Err.Message}
			if refused == nil {
				refused = out[i].Error
			}
			continue
		}
		b.cmds.add(p, raws[i])
	}
	if refused != nil {
		// Those not refused are queued all the same: the body lists them.
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": refused, "commands": out})
		return
	}
	done := true
	if wait > 0 {
		ctx, cancel := context.WithTimeout(r.Context(), wait)
		for i, p := range pend {
			replies, err := p.Wait(ctx)
			if err != nil {
				done = false
				break
			}
			out[i].State, out[i].Replies = stateDone, entriesJSON(replies)
			b.m.observeReply(raws[i], replies, b.cfg.Clock.Now().Sub(start))
		}
		cancel()
		if !done && r.Context().Err() != nil {
			// The client left before its answer, never learning the ids: a
			// dial still queued must not run later on its behalf (as a
			// socket that closes); one at the switch runs to its end.
			for _, p := range pend {
				p.Abandon()
			}
			return
		}
	} else {
		done = false
	}
	if done {
		writeJSON(w, http.StatusOK, map[string]any{"commands": out})
		return
	}
	for i := range out {
		if out[i].State != stateDone {
			out[i].Replies = nil
		}
	}
	w.Header().Set("Location", "/v1/commands/"+strconv.FormatInt(pend[0].ID, 10))
	writeJSON(w, http.StatusAccepted, map[string]any{"commands": out})
}

// getCommand answers a command's state from the store, whichever source
// or relay queued it: its replies from the journal, attempts, dead reason.
// With wait=, a command not yet answered is waited for: on its Pending when
// it was queued here, else until the feed reads one of its replies.
func (b *Bridge) getCommand(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusBadRequest, codeBadRequest, "the command id is a positive integer")
		return
	}
	wait, err := b.parseWait(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, codeBadRequest, err.Error())
		return
	}
	ctx := r.Context()
	var replied chan struct{}
	if wait > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, wait)
		defer cancel()
		if _, local := b.cmds.get(id); !local {
			// Subscribed before the read: a reply committed after it is
			// read by the feed and seen here.
			replied = make(chan struct{}, 1)
			sub, err := b.feed.Subscribe("", relay.Filter{Kinds: []string{relay.KindReply}}, func(d relay.Delivery) {
				if d.Entry.InboxID == id {
					signal(replied)
				}
			}, relay.Buffer(1024))
			if err != nil {
				writeError(w, http.StatusServiceUnavailable, codeUnavailable, "the relay is stopping")
				return
			}
			defer sub.Close()
		}
	}
	rec, found, err := b.cfg.Store.Command(r.Context(), id)
	if err == nil && found && wait > 0 && !settled(rec.State) {
		if p, local := b.cmds.get(id); local {
			_, err = p.p.Wait(ctx)
		} else {
			select {
			case <-replied:
			case <-ctx.Done():
			case <-b.streams:
			}
		}
		// The outcome's replies and its settling commit together: one read
		// after the first reply sees them all.
		rec, found, err = b.cfg.Store.Command(r.Context(), id)
	}
	switch {
	case err != nil && r.Context().Err() == nil:
		b.dbError(w, "read command", err)
		return
	case !found:
		writeError(w, http.StatusNotFound, codeNotFound, "no command with this id in the inbox, the dead letters or the journal")
		return
	}
	writeJSON(w, http.StatusOK, recordJSON(rec))
}

func settled(state string) bool { return state == relay.CommandDone || state == relay.CommandDead }

// commandJSON is GET /v1/commands/{id}'s answer.
type commandJSON struct {
	ID         int64       `json:"id"`
	State      string      `json:"state"` // queued | running | retrying | done | dead
	Attempts   int         `json:"attempts"`
	Source     string      `json:"source"`
	Ref        string      `json:"ref,omitempty"`
	Agent      string      `json:"agent"`
	Frame      string      `json:"frame"`
	EnqueuedAt string      `json:"enqueued_at,omitempty"`
	LastError  string      `json:"last_error,omitempty"`
	DeadReason string      `json:"dead_reason,omitempty"`
	Replies    []entryJSON `json:"replies"`
}

func recordJSON(rec relay.CommandRecord) commandJSON {
	out := commandJSON{ID: rec.ID, State: rec.State, Attempts: rec.Attempts, Source: rec.Source, Ref: rec.Ref, Agent: rec.Agent,
		Frame: rec.Frame, LastError: rec.LastError, DeadReason: rec.DeadReason, Replies: entriesJSON(rec.Replies)}
	if !rec.EnqueuedAt.IsZero() {
		out.EnqueuedAt = rec.EnqueuedAt.UTC().Format(time.RFC3339Nano)
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// verbOf is a frame's verb for metrics, bounded to what the queue knows.
func verbOf(raw string) string {
	f, err := relay.Parse(raw)
	if err != nil {
		return "invalid"
	}
	v := strings.ToUpper(f.Verb())
	if slices.Contains(relay.Verbs, relay.Verb(v)) || slices.Contains(relay.ExtensionVerbs, relay.Verb(v)) {
		return v
	}
	return "unknown"
}

// commandBook remembers the last commands queued here, oldest forgotten
// first: a wait on a 202's Location waits on the command's Pending rather
// than a subscription of its own.
type commandBook struct {
	mu   sync.Mutex
	recs map[int64]commandRec
	ring []int64
	next int
}

type commandRec struct {
	p     *relay.Pending
	frame string
}

func newCommandBook(n int) *commandBook {
	return &commandBook{recs: map[int64]commandRec{}, ring: make([]int64, n)}
}

func (c *commandBook) add(p *relay.Pending, frame string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.ring[c.next]; old != 0 {
		delete(c.recs, old)
	}
	c.ring[c.next] = p.ID
	c.next = (c.next + 1) % len(c.ring)
	c.recs[p.ID] = commandRec{p: p, frame: frame}
}

func (c *commandBook) get(id int64) (commandRec, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.recs[id]
	return r, ok
}
