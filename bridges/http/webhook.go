package httpbridge

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// Defaults of WebhookConfig and the retry schedule.
const (
	DefaultWebhookTimeout = 15 * time.Second
	DefaultFailureWindow  = 24 * time.Hour
	DefaultBackoffBase    = time.Second
	DefaultBackoffMax     = 10 * time.Minute
	// controlEvery is how often a webhook reads its durable state, so that
	// `ctirelay webhooks enable|replay` from another process takes effect.
	controlEvery  = 5 * time.Second
	webhookBuffer = 1024
)

// WebhookConfig is one endpoint the journal is POSTed to.
type WebhookConfig struct {
	Name string
	URL  string
	// Secrets are whsec_ secrets; every one signs each delivery (rotation:
	// add the new one, then drop the old one once receivers have it).
	Secrets []string
	Agents  []string
	Kinds   []string
	Timeout time.Duration
	// FailureWindow: an endpoint failing without a success for this long
	// is disabled, its position kept (DefaultFailureWindow).
	FailureWindow time.Duration
	BackoffBase   time.Duration
	BackoffMax    time.Duration
	// Format, when set, replaces the signed JSON POST with the receiver's
	// own request (Senior CRM X's call notifications): what to send for one
	// entry, or send false to skip it (acknowledged at once). It is called
	// once per delivery of an entry, in journal order, on the webhook's own
	// goroutine; retries resend what it made. With Format, Secrets are
	// optional: the request is signed only when there are some.
	Format func(ctx context.Context, e relay.JournalEntry) (r WebhookRequest, send bool)
	// DropRefused makes a 4xx other than 408, 410 and 429 a refusal of that
	// one entry: counted as a failure and logged, then acknowledged rather
	// than retried (receivers that refuse a report for good).
	DropRefused bool
}

// filter is what the endpoint subscribes to: kind pop is the pop notes.
func (w *WebhookConfig) filter() relay.Filter {
	f := relay.Filter{Agents: w.Agents}
	selectKinds(&f, w.Kinds)
	return f
}

// WebhookRequest is what WebhookConfig.Format makes of an entry.
type WebhookRequest struct {
	Method      string // POST when empty
	Query       string // appended to the URL's query (a GET's variables)
	ContentType string
	Body        []byte
	Header      http.Header // added to the request
}

// ValidateWebhook checks a webhook's configuration.
func ValidateWebhook(w WebhookConfig) error { return w.validate() }

func (w *WebhookConfig) validate() error {
	if w.Name == "" {
		return errors.New("name is required")
	}
	u, err := url.Parse(w.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("url must be an http(s) URL, not %q", w.URL)
	}
	if len(w.Secrets) == 0 && w.Format == nil {
		return errors.New("secret is required (whsec_…)")
	}
	for _, s := range w.Secrets {
		if _, err := parseSecret(s); err != nil {
			return err
		}
	}
	for _, k := range w.Kinds {
		if !contains(kinds, k) && k != KindPop {
			return fmt.Errorf("kind %q: use command, rejected, reply, event, note or pop", k)
		}
	}
	if w.Timeout <= 0 {
		w.Timeout = DefaultWebhookTimeout
	}
	if w.FailureWindow <= 0 {
		w.FailureWindow = DefaultFailureWindow
	}
	if w.BackoffBase <= 0 {
		w.BackoffBase = DefaultBackoffBase
	}
	if w.BackoffMax <= 0 {
		w.BackoffMax = DefaultBackoffMax
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Durable webhook state lives in relay_cursor, whose positions only move
// forward: a replay moves to a new generation of the position (a new
// cursor name) rather than moving one back, and disabled/enabled are the
// times of the last disable and enable (disabled while the first is the
// later).
func cursorGen(name string) string      { return "webhook:" + name + ":gen" }
func cursorDisabled(name string) string { return "webhook:" + name + ":disabled" }
func cursorEnabled(name string) string  { return "webhook:" + name + ":enabled" }

// CursorPosition is the name of a webhook's delivery position in
// generation gen.
func CursorPosition(name string, gen int64) string {
	if gen == 0 {
		return "webhook:" + name
	}
	return "webhook:" + name + "#" + strconv.FormatInt(gen, 10)
}

// WebhookState is what status, metrics and the admin API show.
type WebhookState struct {
	Name         string `json:"name"`
	URL          string `json:"url"`
	Position     int64  `json:"position"`
	Lag          int64  `json:"lag"`
	Failures     int    `json:"failures"` // consecutive, since the last success
	Delivered    int64  `json:"delivered"`
	LastError    string `json:"last_error,omitempty"`
	Disabled     bool   `json:"disabled"`
	DisabledWhy  string `json:"disabled_reason,omitempty"`
	Generation   int64  `json:"generation"`
	FailingSince string `json:"failing_since,omitempty"`
}

// ControlState is a webhook's durable state.
type ControlState struct {
	Gen      int64
	Disabled bool
	Position int64
	Found    bool // a position was saved
}

// ReadControl reads a webhook's durable state from relay_cursor.
func ReadControl(ctx context.Context, st relay.JournalReader, name string) (ControlState, error) {
	var cs ControlState
	read := func(n string) (int64, error) {
		c, _, err := st.Cursor(ctx, n)
		return c.Position, err
	}
	gen, err := read(cursorGen(name))
	if err != nil {
		return cs, err
	}
	dis, err := read(cursorDisabled(name))
	if err != nil {
		return cs, err
	}
	en, err := read(cursorEnabled(name))
	if err != nil {
		return cs, err
	}
	c, found, err := st.Cursor(ctx, CursorPosition(name, gen))
	if err != nil {
		return cs, err
	}
	return ControlState{Gen: gen, Disabled: dis > en, Position: c.Position, Found: found}, nil
}

// SetDisabled records a disable or an enable, as a time later than both
// the last disable and the last enable.
func SetDisabled(ctx context.Context, st relay.JournalReader, name string, disabled bool, now time.Time) error {
	d, _, err := st.Cursor(ctx, cursorDisabled(name))
	if err != nil {
		return err
	}
	e, _, err := st.Cursor(ctx, cursorEnabled(name))
	if err != nil {
		return err
	}
	stamp := max(now.UnixNano(), d.Position+1, e.Position+1)
	key := cursorEnabled(name)
	if disabled {
		key = cursorDisabled(name)
	}
	return st.AdvanceCursors(ctx, []relay.Cursor{{Name: key, Position: stamp}}, now)
}

// Replay makes the webhook deliver again everything after journal id from:
// a new generation whose position is from. The webhook is enabled too.
func Replay(ctx context.Context, st relay.JournalReader, name string, from int64, now time.Time) (int64, error) {
	cs, err := ReadControl(ctx, st, name)
	if err != nil {
		return 0, err
	}
	gen := cs.Gen + 1
	if err := st.AdvanceCursors(ctx, []relay.Cursor{{Name: CursorPosition(name, gen), Position: from}, {Name: cursorGen(name), Position: gen}}, now); err != nil {
		return 0, err
	}
	return gen, SetDisabled(ctx, st, name, false, now)
}

// webhook delivers matching journal entries to one endpoint, one at a
// time in journal order, on its own subscription: a failing endpoint
// slows only itself.
type webhook struct {
	b    *Bridge
	cfg  WebhookConfig
	keys [][]byte

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	kick   chan struct{}

	mu    sync.Mutex
	state WebhookState
	since time.Time // first failure of the current streak
	sub   *relay.Subscription
	cur   context.Context // ends when sub is replaced: a delivery under way gives up
}

func newWebhook(b *Bridge, cfg WebhookConfig) *webhook {
	h := &webhook{b: b, cfg: cfg, done: make(chan struct{}), kick: make(chan struct{}, 1)}
	for _, s := range cfg.Secrets {
		k, _ := parseSecret(s) // validated
		h.keys = append(h.keys, k)
	}
	h.state = WebhookState{Name: cfg.Name, URL: RedactURL(cfg.URL)}
	return h
}

// RedactURL drops credentials and the query, which may hold them.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	u.User, u.RawQuery = nil, ""
	return u.String()
}

func (h *webhook) start() error {
	h.ctx, h.cancel = context.WithCancel(context.Background())
	go h.run()
	return nil
}

func (h *webhook) stop() {
	h.cancel()
	<-h.done
}

// run keeps a subscription going while the endpoint is enabled, and reads
// the durable state every controlEvery (or when kicked by the admin API).
func (h *webhook) run() {
	defer close(h.done)
	var gen int64 = -1
	var sub *relay.Subscription
	curCancel := func() {}
	closeSub := func() {
		if sub != nil {
			curCancel()
			sub.Close()
			sub = nil
			h.mu.Lock()
			h.sub = nil
			h.mu.Unlock()
		}
	}
	defer closeSub()
	for {
		cs, err := ReadControl(h.ctx, h.b.cfg.Store, h.cfg.Name)
		if h.ctx.Err() != nil {
			return
		}
		if err == nil {
			h.mu.Lock()
			h.state.Disabled, h.state.Generation = cs.Disabled, cs.Gen
			if !cs.Disabled {
				h.state.DisabledWhy = ""
			}
			h.mu.Unlock()
			if cs.Disabled || cs.Gen != gen {
				closeSub()
			}
			if sub != nil && sub.Err() != nil {
				// Lagged (a slow or failing endpoint): resume from the
				// durable position.
				closeSub()
			}
			if !cs.Disabled && sub == nil && !cs.Found {
				// A new endpoint starts from now; the position is saved at
				// once so that a 410 or a restart before the first success
				// does not skip what came meanwhile.
				if err := h.b.cfg.Store.AdvanceCursors(h.ctx, []relay.Cursor{{Name: CursorPosition(h.cfg.Name, cs.Gen), Position: h.b.feed.Position()}}, h.b.cfg.Clock.Now()); err != nil {
					h.b.log.Warn("webhook save start position", "webhook", h.cfg.Name, "err", err)
					cs.Disabled = true // try again on the next round
				}
			}
			if !cs.Disabled && sub == nil {
				gen = cs.Gen
				cur, cancel := context.WithCancel(h.ctx)
				h.mu.Lock()
				h.cur, curCancel = cur, cancel
				h.mu.Unlock()
				s, err := h.b.feed.Subscribe(CursorPosition(h.cfg.Name, gen), h.cfg.filter(),
					h.deliver, relay.ManualAck(), relay.Buffer(webhookBuffer))
				if err == nil {
					sub = s
					h.mu.Lock()
					h.sub = s
					h.state.Position = s.Position() // where it resumes: the acknowledged position
					h.mu.Unlock()
				} else if !errors.Is(err, relay.ErrFeedStopped) {
					h.b.log.Warn("webhook subscribe", "webhook", h.cfg.Name, "err", err)
				}
			}
		} else {
			h.b.log.Warn("webhook read state", "webhook", h.cfg.Name, "err", err)
		}
		var subDone <-chan struct{}
		if sub != nil {
			subDone = sub.Done()
		}
		select {
		case <-h.ctx.Done():
			return
		case <-h.kick:
		case <-subDone:
		case <-h.b.cfg.Clock.After(controlEvery):
		}
	}
}

// deliver posts one entry until a 2xx (then acknowledges it), a 410 or
// the failure window (then disables the endpoint), or the bridge stops.
func (h *webhook) deliver(d relay.Delivery) {
	e := d.Entry
	id := strconv.FormatInt(e.ID, 10)
	h.mu.Lock()
	ctx := h.cur
	h.mu.Unlock()
	req := WebhookRequest{ContentType: "application/json"}
	if h.cfg.Format != nil {
		if ctx.Err() != nil || h.disabled() {
			return
		}
		var send bool
		if req, send = h.cfg.Format(ctx, e); !send {
			h.acked(e.ID, false)
			return
		}
	} else {
		req.Body = encodeEntry(e)
	}
	for attempt := 1; ; attempt++ {
		if ctx.Err() != nil || h.disabled() {
			return
		}
		status, retryAfter, err := h.post(ctx, id, req)
		switch {
		case err == nil && status >= 200 && status < 300:
			h.b.m.hookDeliveries.WithLabelValues(h.cfg.Name).Inc()
			h.acked(e.ID, true)
			return
		case err == nil && h.cfg.DropRefused && status >= 400 && status < 500 && status != http.StatusRequestTimeout && status != http.StatusGone && status != http.StatusTooManyRequests:
			h.fail(fmt.Sprintf("HTTP %d: entry %d refused, not sent again", status, e.ID))
			h.acked(e.ID, false)
			return
		case err == nil && status == http.StatusGone:
			h.fail(fmt.Sprintf("HTTP %d", status))
			h.disable("the endpoint answered 410 Gone")
			return
		}
		why := ""
		if err != nil {
			why = err.Error()
		} else {
			why = fmt.Sprintf("HTTP %d", status)
		}
		now := h.b.cfg.Clock.Now()
		if since := h.fail(why); now.Sub(since) >= h.cfg.FailureWindow {
			h.disable(fmt.Sprintf("failing for %s: %s", now.Sub(since).Round(time.Second), why))
			return
		}
		delay := h.backoff(attempt)
		if retryAfter > 0 {
			delay = min(max(retryAfter, delay), h.cfg.BackoffMax)
		}
		select {
		case <-ctx.Done():
			return
		case <-h.b.cfg.Clock.After(delay):
		}
	}
}

// acked moves the position past entry id: delivered (a 2xx), skipped by
// Format or refused for good.
func (h *webhook) acked(id int64, delivered bool) {
	h.mu.Lock()
	if delivered {
		h.state.Failures, h.state.LastError, h.since = 0, "", time.Time{}
		h.state.Delivered++
	}
	h.state.Position = id
	sub := h.sub
	h.mu.Unlock()
	if sub != nil {
		sub.Ack(id)
	}
}

// backoff is exponential with full jitter over its upper half.
func (h *webhook) backoff(attempt int) time.Duration {
	d := h.cfg.BackoffBase << min(attempt-1, 30)
	if d <= 0 || d > h.cfg.BackoffMax {
		d = h.cfg.BackoffMax
	}
	return d/2 + time.Duration(h.b.cfg.Rand()*float64(d/2))
}

func (h *webhook) post(ctx context.Context, id string, wr WebhookRequest) (int, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.Timeout)
	defer cancel()
	u := h.cfg.URL
	if wr.Query != "" {
		sep := "?"
		if strings.Contains(u, "?") {
			sep = "&"
		}
		u += sep + wr.Query
	}
	var body io.Reader
	if wr.Body != nil {
		body = bytes.NewReader(wr.Body)
	}
	req, err := http.NewRequestWithContext(ctx, cmp.Or(wr.Method, http.MethodPost), u, body)
	if err != nil {
		return 0, 0, err
	}
	now := h.b.cfg.Clock.Now()
	for k, vs := range wr.Header {
		req.Header[http.CanonicalHeaderKey(k)] = vs
	}
	if wr.ContentType != "" {
		req.Header.Set("Content-Type", wr.ContentType)
	}
	req.Header.Set("User-Agent", "ctirelay-webhook")
	req.Header.Set("webhook-id", id)
	if len(h.keys) > 0 {
		req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
		req.Header.Set("webhook-signature", sign(h.keys, id, now, wr.Body))
	}
	resp, err := h.b.cfg.Client.Do(req)
	if err != nil {
		// Without the URL, which may carry a secret or, with Format, the
		// receiver's variables: the error reaches the log and the state.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = fmt.Errorf("%s %s: %w", ue.Op, RedactURL(h.cfg.URL), ue.Err)
		}
		return 0, 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, parseRetryAfter(resp.Header.Get("Retry-After"), now), nil
}

func parseRetryAfter(s string, now time.Time) time.Duration {
	if s == "" {
		return 0
	}
	if n, err := strconv.Atoi(s); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(s); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// fail counts a failure; it returns when the streak began.
func (h *webhook) fail(why string) time.Time {
	h.b.m.hookFailures.WithLabelValues(h.cfg.Name).Inc()
	h.b.log.Warn("webhook delivery failed", "webhook", h.cfg.Name, "err", why)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.state.Failures++
	h.state.LastError = why
	if h.since.IsZero() {
		h.since = h.b.cfg.Clock.Now()
	}
	return h.since
}

func (h *webhook) disabled() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.state.Disabled
}

func (h *webhook) disable(why string) {
	h.b.log.Error("webhook disabled; enable it with 'ctirelay webhooks enable' once the endpoint is fixed", "webhook", h.cfg.Name, "reason", why)
	h.mu.Lock()
	h.state.Disabled, h.state.DisabledWhy = true, why
	h.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(h.ctx), 5*time.Second)
	defer cancel()
	if err := SetDisabled(ctx, h.b.cfg.Store, h.cfg.Name, true, h.b.cfg.Clock.Now()); err != nil {
		h.b.log.Warn("webhook save disabled", "webhook", h.cfg.Name, "err", err)
	}
	signal(h.kick)
}

func (h *webhook) snapshot() WebhookState {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.state // Position: the last entry acknowledged (2xx)
	if !h.since.IsZero() {
		s.FailingSince = h.since.UTC().Format(time.RFC3339)
	}
	s.Lag = max(h.b.feed.Position()-s.Position, 0)
	return s
}

func (b *Bridge) webhookStates() []WebhookState {
	out := make([]WebhookState, 0, len(b.hooks))
	for _, h := range b.hooks {
		out = append(out, h.snapshot())
	}
	return out
}

func (b *Bridge) hook(w http.ResponseWriter, r *http.Request) *webhook {
	name := r.PathValue("name")
	for _, h := range b.hooks {
		if h.cfg.Name == name {
			return h
		}
	}
	writeError(w, http.StatusNotFound, codeNotFound, "no webhook with this name")
	return nil
}

func (b *Bridge) getWebhooks(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"webhooks": b.webhookStates()})
}

func (b *Bridge) enableWebhook(w http.ResponseWriter, r *http.Request) {
	h := b.hook(w, r)
	if h == nil {
		return
	}
	if err := SetDisabled(r.Context(), b.cfg.Store, h.cfg.Name, false, b.cfg.Clock.Now()); err != nil {
		b.dbError(w, "enable webhook", err)
		return
	}
	h.mu.Lock()
	h.state.Disabled, h.state.DisabledWhy, h.since, h.state.Failures = false, "", time.Time{}, 0
	h.mu.Unlock()
	signal(h.kick)
	writeJSON(w, http.StatusOK, h.snapshot())
}

func (b *Bridge) replayWebhook(w http.ResponseWriter, r *http.Request) {
	h := b.hook(w, r)
	if h == nil {
		return
	}
	from, ok, err := parseAfter(r.URL.Query().Get("from"))
	if err != nil || !ok {
		writeError(w, http.StatusBadRequest, codeBadRequest, "from= is required: the journal id after which to deliver again")
		return
	}
	if _, err := Replay(r.Context(), b.cfg.Store, h.cfg.Name, from, b.cfg.Clock.Now()); err != nil {
		b.dbError(w, "replay webhook", err)
		return
	}
	h.mu.Lock()
	h.state.Disabled, h.state.DisabledWhy, h.since, h.state.Failures = false, "", time.Time{}, 0
	h.mu.Unlock()
	signal(h.kick)
	writeJSON(w, http.StatusOK, h.snapshot())
}
