package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"age":      age,
	"time":     func(t time.Time) string { return t.UTC().Format("15:04:05") },
	"verb":     func(v relay.Verb) string { return string(v) },
	"deadtext": deadText,
	"datetime": func(t time.Time) string { return t.Format("2006-01-02 15:04 MST") },
	"took":     took,
}).ParseFS(assets, "assets/*.html"))

// snapshot is one summary rendered: the fragments for the first page, and
// the same as one JSON object pushed to every stream.
type snapshot struct {
	fragments map[string]template.HTML
	json      []byte
}

// panels are the page's parts a summary replaces, by element id.
var panels = []string{"health", "queues", "agents", "dead", "jobs"}

func (h *Handler) render(s summary) (*snapshot, error) {
	snap := &snapshot{fragments: map[string]template.HTML{}}
	plain := map[string]string{}
	for _, p := range panels {
		var b bytes.Buffer
		if err := templates.ExecuteTemplate(&b, p, s); err != nil {
			return nil, fmt.Errorf("render %s: %w", p, err)
		}
		snap.fragments[p] = template.HTML(b.String()) // escaped by html/template
		plain[p] = b.String()
	}
	var err error
	if snap.json, err = json.Marshal(plain); err != nil {
		return nil, fmt.Errorf("encode summary: %w", err)
	}
	return snap, nil
}

func age(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d < time.Minute:
		return strconv.Itoa(int(d/time.Second)) + "s"
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	}
	return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

// took is a run's duration: milliseconds under a second.
func took(d time.Duration) string {
	if d < time.Second {
		return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
	}
	return age(d)
}

type pageData struct {
	CSRF      string
	Admin     bool
	Open      bool
	Version   string
	Panels    map[string]template.HTML
	Entries   []template.HTML
	After     int64
	LoginFail bool
}

// page serves the dashboard, or the sign-in form.
func (h *Handler) page(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	sess := h.session(r)
	if sess == nil && h.open() {
		sess = h.sessions.create(w, r, true)
	}
	if sess == nil {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		h.exec(w, "login", pageData{LoginFail: r.URL.Query().Has("failed"), Version: h.cfg.Version})
		return
	}
	snap, _ := h.latest()
	d := pageData{CSRF: sess.csrf, Admin: sess.admin, Open: h.open(), Version: h.cfg.Version, Panels: snap.fragments}
	for _, e := range h.tracker.recentEntries() {
		line, err := renderEntry(e)
		if err != nil {
			h.log.Error("render entry", "err", err)
			continue
		}
		d.Entries = append(d.Entries, line)
		d.After = max(d.After, e.ID)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	h.exec(w, "page", d)
}

func (h *Handler) exec(w http.ResponseWriter, name string, d any) {
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, name, d); err != nil {
		h.log.Error("render page", "err", err)
		http.Error(w, "render page", http.StatusInternalServerError)
		return
	}
	_, _ = w.Write(b.Bytes())
}

const viewerBuffer = 256

var lineBreaks = strings.NewReplacer("\r\n", "&#13;&#10;", "\n", "&#10;", "\r", "&#13;")

type entryView struct {
	relay.JournalEntry
	Source string
}

func renderEntry(e relay.JournalEntry) (template.HTML, error) {
	v := entryView{JournalEntry: e, Source: e.Origin}
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, "entry", v); err != nil {
		return "", err
	}
	// One line, so it is one SSE data line: a line break in a frame (the
	// ERP's text) becomes its character reference, which reads the same.
	return template.HTML(lineBreaks.Replace(b.String())), nil
}

// stream is the page's EventSource: "summary" events (the same bytes for
// every viewer) and "entry" events (journal lines, with their id so a
// reconnecting EventSource resumes where it was).
func (h *Handler) stream(w http.ResponseWriter, r *http.Request) {
	if h.session(r) == nil {
		jsonError(w, http.StatusUnauthorized, "sign in first")
		return
	}
	// Through ResponseController: a mount's writer (the HTTP bridge's
	// statusWriter) flushes by Unwrap, not by being an http.Flusher.
	rc := http.NewResponseController(w)
	var after int64
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		after, _ = strconv.ParseInt(v, 10, 64)
	} else if v := r.URL.Query().Get("after"); v != "" {
		after, _ = strconv.ParseInt(v, 10, 64)
	}
	ctx, cancel := context.WithCancel(r.Context())
	entries := make(chan relay.JournalEntry)
	fn := func(d relay.Delivery) {
		select {
		case entries <- d.Entry:
		case <-ctx.Done():
		}
	}
	// A small buffer: a viewer behind by more is cut (ErrLagged) and its
	// EventSource resumes from Last-Event-ID, reading what it missed.
	opts := []relay.SubscribeOption{relay.Buffer(viewerBuffer)}
	if after > 0 {
		opts = append(opts, relay.After(after))
	}
	sub, err := h.cfg.Feed.Subscribe("", relay.Filter{}, fn, opts...)
	if err != nil {
		cancel()
		jsonError(w, http.StatusServiceUnavailable, "journal unavailable")
		return
	}
	// fn may be blocked handing an entry on: cancel frees it first.
	defer func() { cancel(); sub.Close(); <-sub.Done() }()
	// A stream outlives the server's read and write timeouts (the HTTP
	// bridge's are a minute or so): it lifts them for itself.
	_ = rc.SetWriteDeadline(time.Time{})
	_ = rc.SetReadDeadline(time.Time{})
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	snap, changed := h.latest()
	fmt.Fprintf(w, "retry: 2000\n\nevent: summary\ndata: %s\n\n", snap.json)
	if err := rc.Flush(); err != nil {
		h.log.Error("stream cannot flush", "err", err)
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.stopped:
			return
		case <-sub.Done():
			// Lagged (or the feed stopped): the browser reconnects with
			// Last-Event-ID and nothing is lost.
			return
		case <-changed:
			snap, changed = h.latest()
			fmt.Fprintf(w, "event: summary\ndata: %s\n\n", snap.json)
		case e := <-entries:
			line, err := renderEntry(e)
			if err != nil {
				continue
			}
			fmt.Fprintf(w, "id: %d\nevent: entry\ndata: %s\n\n", e.ID, line)
		}
		if rc.Flush() != nil {
			return // the viewer went away
		}
	}
}

func jsonError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
