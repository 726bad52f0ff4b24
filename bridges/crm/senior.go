package crm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/httpdial"
)

// Submitter queues commands and hands back their pending replies: the
// *relay.Feed.
type Submitter interface {
	Submit(ctx context.Context, msgs []relay.Inbound) ([]*relay.Pending, error)
}

// Defaults of Senior CRM X's click-to-dial route.
const (
	DefaultClickToDialPath = "/api/clicktodial"
	DefaultClickToDialWait = 10 * time.Second
)

// SeniorAgent is one relay login as Senior CRM X knows it.
type SeniorAgent struct {
	Extension   string // the ramal Senior sends as origem
	Credentials httpdial.Credentials
}

// ClickToDial serves Senior CRM X's click-to-dial URL (configuracao_cti
// pointing at the relay): origem is the agent's extension, destino the
// number. It queues <login><A><ddd><phone><>$ for the agent owning origem
// and answers the dial's outcome: 200 on OK, 422 with the ERR's message, 202
// when Wait runs out (the dial stays queued).
type ClickToDial struct {
	Feed           Submitter
	OriginVar      string // cti_nome_origem ("origem")
	DestinationVar string // cti_nome_destino ("destino")
	Auth           httpdial.AuthMode
	Global         httpdial.Credentials
	Agents         map[string]SeniorAgent // by login
	Wait           time.Duration
	MaxBodyBytes   int64
	Journal        Journal
}

// Check validates the configuration, naming the key at fault under prefix.
func (h *ClickToDial) Check(prefix string) error {
	var errs []error
	if h.Auth < httpdial.AuthNone || h.Auth > httpdial.AuthBasicHeader {
		errs = append(errs, fmt.Errorf("%sauth: %d is not 0 to 4 (cti_autenticacao)", prefix, h.Auth))
	}
	seen := map[string]string{}
	for login, a := range h.Agents {
		if a.Extension == "" {
			errs = append(errs, fmt.Errorf("%sagents.%s.extension: empty", prefix, login))
		} else if other, dup := seen[a.Extension]; dup {
			errs = append(errs, fmt.Errorf("%sagents.%s.extension: %s is %s's too", prefix, login, a.Extension, other))
		}
		seen[a.Extension] = login
		c := merge(a.Credentials, h.Global)
		if (h.Auth == httpdial.AuthBasic || h.Auth == httpdial.AuthBasicHeader) && c.User == "" {
			errs = append(errs, fmt.Errorf("%sagents.%s.user: auth %d needs a user (or %sglobal.user)", prefix, login, h.Auth, prefix))
		}
		if h.Auth >= httpdial.AuthHeader && c.Token == "" {
			errs = append(errs, fmt.Errorf("%sagents.%s.token: auth %d needs a token (or %sglobal.token)", prefix, login, h.Auth, prefix))
		}
	}
	if h.OriginVar != "" && h.OriginVar == h.DestinationVar {
		errs = append(errs, fmt.Errorf("%sdestination_var: same name as origin_var", prefix))
	}
	return errors.Join(errs...)
}

func merge(c, g httpdial.Credentials) httpdial.Credentials {
	if c.User == "" {
		c.User = g.User
	}
	if c.Password == "" {
		c.Password = g.Password
	}
	if c.Token == "" {
		c.Token = g.Token
	}
	return c
}

// splitNumber turns a CRM's destination into the A command's DDD and
// phone: digits only; a leading 0 (the dial tone Senior adds with
// usa_zero_ddd) dropped from long numbers; the first two digits are the
// DDD when ten or more remain (Brazil's area code and number).
func splitNumber(s string) (ddd, phone string) {
	d := strings.TrimPrefix(digits(s), "+")
	if len(d) >= 11 && d[0] == '0' {
		d = d[1:]
	}
	if len(d) >= 10 {
		return d[:2], d[2:]
	}
	return "", d
}

func (h *ClickToDial) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "GET or POST")
		return
	}
	get, err := values(w, r, h.MaxBodyBytes)
	if err != nil {
		badBody(w, err)
		return
	}
	if h.Feed == nil {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "click-to-dial has no queue")
		return
	}
	ov, dv := or(h.OriginVar, "origem"), or(h.DestinationVar, "destino")
	origin, dest := get(ov), get(dv)
	if origin == "" || dest == "" {
		writeError(w, http.StatusBadRequest, "missing_variable", fmt.Sprintf("%s and %s are both required", ov, dv))
		return
	}
	login, agent, ok := h.owner(origin)
	if !ok {
		// Authenticate before saying which extensions exist, when a global
		// credential can.
		if h.Auth != httpdial.AuthNone && !authorized(r, h.Auth, h.Global) {
			unauthorized(w, h.Auth)
			return
		}
		if h.Journal != nil {
			h.Journal.Note(r.Context(), Note{What: "unknown-extension", Rule: "clicktodial", Detail: "dial from extension " + origin + " answered 404"})
		}
		writeError(w, http.StatusNotFound, "unknown_extension", "no agent has extension "+origin)
		return
	}
	if !authorized(r, h.Auth, merge(agent.Credentials, h.Global)) {
		unauthorized(w, h.Auth)
		return
	}
	ddd, phone := splitNumber(dest)
	if phone == "" {
		writeError(w, http.StatusBadRequest, "bad_destination", fmt.Sprintf("%s %q has no digits", dv, dest))
		return
	}
	raw := relay.Frame{login, string(relay.VerbDial), ddd, phone, ""}.String()
	pend, err := h.Feed.Submit(r.Context(), []relay.Inbound{{Source: relay.SourceHTTP, Ref: "crm:clicktodial", Raw: raw}})
	switch {
	case errors.Is(err, relay.ErrFeedBusy), errors.Is(err, relay.ErrFeedStopped):
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "unavailable", err.Error())
		return
	case err != nil:
		writeError(w, http.StatusServiceUnavailable, "unavailable", "queue the dial: "+err.Error())
		return
	case len(pend) != 1:
		writeError(w, http.StatusInternalServerError, "internal", "the dial was not queued")
		return
	}
	p := pend[0]
	if p.Err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"result": "ERR", "code": p.Err.Code, "message": p.Err.Message})
		return
	}
	wait := h.Wait
	if wait == 0 {
		wait = DefaultClickToDialWait
	}
	ctx, cancel := context.WithTimeout(r.Context(), wait)
	defer cancel()
	replies, err := p.Wait(ctx)
	if err != nil {
		p.Forget()
		writeJSON(w, http.StatusAccepted, map[string]any{"result": "queued", "id": p.ID})
		return
	}
	for _, e := range replies {
		f, perr := relay.Parse(e.Frame)
		if perr != nil {
			continue
		}
		switch f.Verb() {
		case "OK":
			writeJSON(w, http.StatusOK, map[string]any{"result": "OK", "id": p.ID})
			return
		case "ERR":
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"result": "ERR", "id": p.ID, "code": f.Arg(0), "message": f.Arg(1)})
			return
		}
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"result": "queued", "id": p.ID})
}

func (h *ClickToDial) owner(ext string) (string, SeniorAgent, bool) {
	for login, a := range h.Agents {
		if a.Extension == ext {
			return login, a, true
		}
	}
	return "", SeniorAgent{}, false
}

func or(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// Subscriber is the feed as a source of journal entries: the *relay.Feed.
type Subscriber interface {
	Subscribe(name string, filter relay.Filter, fn func(relay.Delivery), opts ...relay.SubscribeOption) (*relay.Subscription, error)
}

// SeniorNotifier sends each call of a mapped agent to the CRM's URL with
// Senior's variable names: ringing and answer (start) and end, with the
// origin, the destination and the recording's address; outgoing calls use
// the _sainte pair. It is a named feed subscriber acknowledging by hand:
// its position moves only once the CRM took a report (or refused it for
// good, 4xx), so a restart resends what was not delivered.
type SeniorNotifier struct {
	Feed Subscriber
	Name string // the durable position: "crm:" + Name
	URL  string
	// Method is GET (variables in the query, as the document's URLs) or POST
	// (a form).
	Method  string
	Vars    httpdial.Vars
	Headers map[string]string
	// Agents map each login to its extension (ramal).
	Agents map[string]string
	// CustomerCodeVar and CustomerNameVar, when set, carry the lookup's
	// match.
	CustomerCodeVar, CustomerNameVar string
	Rules                            Rules
	Client                           *http.Client
	Backoff                          relay.Backoff
	Clock                            relay.Clock
	Logger                           *slog.Logger
	Journal                          Journal

	life   relay.StartStop
	vars   httpdial.Vars
	track  *tracker
	cancel context.CancelFunc
	done   chan struct{}
}

// Start subscribes; Stop ends it. Both are safe twice.
func (n *SeniorNotifier) Start(ctx context.Context) error {
	return n.life.Start(ctx, n.start)
}

// Stop stops sending; what was not acknowledged is sent after the next start.
func (n *SeniorNotifier) Stop() { n.life.Stop() }

func (n *SeniorNotifier) start(ctx context.Context) (func(), error) {
	v, err := n.Vars.WithDefaults()
	if err != nil {
		return nil, fmt.Errorf("senior notifier vars: %w", err)
	}
	if n.URL == "" || n.Feed == nil {
		return nil, errors.New("senior notifier needs a url and the feed")
	}
	n.vars, n.track = v, newTracker()
	if n.Client == nil {
		n.Client = &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if n.Clock == nil {
		n.Clock = relay.SystemClock{}
	}
	if n.Logger == nil {
		n.Logger = slog.New(slog.DiscardHandler)
	}
	if n.Backoff.Base == 0 {
		n.Backoff = relay.Backoff{Base: time.Second, Max: 30 * time.Second}
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	n.cancel, n.done = cancel, make(chan struct{})
	sub, err := n.subscribe(runCtx)
	if err != nil {
		cancel()
		return nil, err
	}
	go n.watch(runCtx, sub)
	return func() {
		cancel()
		<-n.done
	}, nil
}

func (n *SeniorNotifier) subscribe(ctx context.Context) (*relay.Subscription, error) {
	agents := make([]string, 0, len(n.Agents))
	for l := range n.Agents {
		agents = append(agents, l)
	}
	var sub *relay.Subscription
	ready := make(chan struct{}) // fn may run before Subscribe returns sub
	fn := func(d relay.Delivery) {
		<-ready
		if n.handle(ctx, d.Entry) {
			sub.Ack(d.Entry.ID)
		}
	}
	var err error
	sub, err = n.Feed.Subscribe("crm:"+n.Name, relay.Filter{Kinds: []string{relay.KindEvent}, Agents: agents}, fn, relay.ManualAck())
	close(ready)
	return sub, err
}

// watch subscribes again when the subscription lags (it resumes from its
// durable position), until stopped.
func (n *SeniorNotifier) watch(ctx context.Context, sub *relay.Subscription) {
	defer close(n.done)
	for {
		select {
		case <-ctx.Done():
			sub.Close()
			<-sub.Done()
			return
		case <-sub.Done():
		}
		if !errors.Is(sub.Err(), relay.ErrLagged) {
			return
		}
		n.Logger.Warn("crm senior notifier lagged; resuming from its position", "name", n.Name)
		n.track = newTracker()
		var err error
		if sub, err = n.subscribe(ctx); err != nil {
			n.Logger.Error("crm senior notifier: subscribe again", "err", err)
			return
		}
	}
}

// handle sends what entry e makes; false when stopped before the CRM took it.
func (n *SeniorNotifier) handle(ctx context.Context, e relay.JournalEntry) bool {
	what, login, c, busy := n.track.apply(e)
	ext := n.extension(login)
	if c == nil || ext == "" {
		return true
	}
	var nt httpdial.Notification
	switch what {
	case evRing:
		c.pop = n.Rules.Decide(ctx, n.Journal, login, c.caller, busy)
		nt = httpdial.Notification{Event: httpdial.EventRinging, Direction: httpdial.Inbound, Origin: c.caller, Destination: ext}
	case evAnswer:
		nt = httpdial.Notification{Event: httpdial.EventAnswer, Direction: httpdial.Inbound, Origin: c.caller, Destination: ext}
	case evOutgo:
		c.pop = Pop{Pop: true}
		nt = httpdial.Notification{Event: httpdial.EventAnswer, Direction: httpdial.Outbound, Origin: ext, Destination: c.dest}
	case evHangup:
		nt = httpdial.Notification{Event: httpdial.EventEnd, Direction: httpdial.Outbound, Origin: ext, Destination: c.dest}
		if c.inbound {
			nt.Direction, nt.Origin, nt.Destination = httpdial.Inbound, c.caller, ext
		}
	default:
		return true // audio alone: it goes with the next report
	}
	if !c.pop.Pop {
		return true
	}
	nt.Audio = c.audio
	q := n.vars.Values(nt)
	if cu := c.pop.Customer; cu != nil {
		if n.CustomerCodeVar != "" {
			q.Set(n.CustomerCodeVar, cu.Code)
		}
		if n.CustomerNameVar != "" {
			q.Set(n.CustomerNameVar, cu.Name)
		}
	}
	return n.send(ctx, login, q.Encode())
}

func (n *SeniorNotifier) extension(login string) string {
	for l, ext := range n.Agents {
		if strings.EqualFold(l, login) {
			return ext
		}
	}
	return ""
}

// send delivers one report, retrying transient failures with backoff
// until it is taken, refused for good (4xx but 408 and 429) or ctx ends.
func (n *SeniorNotifier) send(ctx context.Context, login, query string) bool {
	for attempt := 1; ; attempt++ {
		status, err := n.post(ctx, query)
		switch {
		case err == nil && status < 300:
			return true
		case err == nil && status >= 400 && status < 500 && status != 408 && status != 429:
			if n.Journal != nil {
				n.Journal.Note(ctx, Note{Agent: login, What: "crm-notify", Rule: "http " + fmt.Sprint(status), Detail: "the CRM refused a call report; not sent again"})
			}
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		n.Logger.Warn("crm senior notifier: send", "status", status, "err", err, "attempt", attempt)
		select {
		case <-ctx.Done():
			return false
		case <-n.Clock.After(n.Backoff.Delay(attempt)):
		}
	}
}

func (n *SeniorNotifier) post(ctx context.Context, query string) (int, error) {
	var req *http.Request
	var err error
	if strings.EqualFold(n.Method, http.MethodPost) {
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, n.URL, strings.NewReader(query))
		if req != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	} else {
		u := n.URL
		if strings.Contains(u, "?") {
			u += "&" + query
		} else {
			u += "?" + query
		}
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	}
	if err != nil {
		return 0, err
	}
	for k, v := range n.Headers {
		req.Header.Set(k, v)
	}
	resp, err := n.Client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
