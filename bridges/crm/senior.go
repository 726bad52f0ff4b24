package crm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	httpbridge "github.com/ctirelay/ctirelay/bridges/http"
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
	// MaxDestinationDigits bounds a destination: an international number
	// with its prefixes fits many times over.
	MaxDestinationDigits = 24
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
	// Guard authenticates mode 0 (Auth none): the HTTP bridge's bearer
	// tokens when it has some.
	Guard Guard
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
		if !h.allowed(r, h.Global) {
			h.refuse(w)
			return
		}
		if h.Journal != nil {
			h.Journal.Note(r.Context(), Note{What: "unknown-extension", Rule: "clicktodial", Detail: "dial from extension " + origin + " answered 404"})
		}
		writeError(w, http.StatusNotFound, "unknown_extension", "no agent has extension "+origin)
		return
	}
	if !h.allowed(r, merge(agent.Credentials, h.Global)) {
		h.refuse(w)
		return
	}
	ddd, phone := splitNumber(dest)
	switch {
	case phone == "":
		writeError(w, http.StatusBadRequest, "bad_destination", fmt.Sprintf("%s %q has no digits", dv, dest))
		return
	case strings.Trim(dest, "0123456789 +-().") != "":
		writeError(w, http.StatusBadRequest, "bad_destination", fmt.Sprintf("%s may hold digits, spaces and + - ( ) . only", dv))
		return
	case len(ddd)+len(phone) > MaxDestinationDigits:
		writeError(w, http.StatusBadRequest, "bad_destination", fmt.Sprintf("%s has more than %d digits", dv, MaxDestinationDigits))
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
		if r.Context().Err() != nil {
			// The CRM hung up: a dial still queued is never sent (answered
			// REQUESTER_GONE and dead-lettered), lest the phone ring later
			// for nobody; one already at the switch runs to its end.
			p.Abandon()
		}
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

// allowed checks the request against cti_autenticacao; mode 0 (none in
// Senior) falls back to the HTTP bridge's bearer tokens (group commands).
func (h *ClickToDial) allowed(r *http.Request, creds httpdial.Credentials) bool {
	if h.Auth == httpdial.AuthNone {
		return h.Guard.allow(r, httpbridge.GroupCommands)
	}
	return authorized(r, h.Auth, creds)
}

func (h *ClickToDial) refuse(w http.ResponseWriter) {
	if h.Auth == httpdial.AuthNone {
		h.Guard.refuse(w)
		return
	}
	unauthorized(w, h.Auth)
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
	// Wake makes the feed read the journal now (after a write of this
	// process it need not wait for the poll).
	Wake()
}

// SeniorReports are Senior CRM X's call notifications: each call of a
// mapped agent — ringing and answer (start) and end, with the origin, the
// destination and the recording's address, outgoing calls under the
// _sainte pair — as a request to the CRM's URL with Senior's variable
// names. It is the Format of a webhook endpoint of the HTTP bridge
// (Webhook), so the notifications have the webhook machinery's durable
// position, retries, failure window, enable/replay and visibility
// (`ctirelay webhooks`, /v1/webhooks, /v1/status, the webhook metrics).
type SeniorReports struct {
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
	Journal                          Journal

	mu    sync.Mutex
	vars  httpdial.Vars
	ready bool
	ext   map[string]string // lower-case login → extension
	track *tracker
	last  int64            // the last entry applied to track
	made  map[int64]report // what recent entries made, for their redeliveries
	order []int64          // made's ids, oldest first
}

// report is what one entry made: a request, or nothing (send false).
type report struct {
	req  httpbridge.WebhookRequest
	send bool
}

// madeKept bounds the entries whose requests are remembered: more than a
// webhook's subscription holds unacknowledged, so a resubscription after a
// lag finds every entry it is given again.
const madeKept = 4096

// Check validates the configuration, naming the key at fault under prefix.
func (s *SeniorReports) Check(prefix string) error {
	var errs []error
	if _, err := s.Vars.WithDefaults(); err != nil {
		errs = append(errs, fmt.Errorf("%svars: %w", prefix, err))
	}
	if m := strings.ToUpper(s.Method); m != "" && m != http.MethodGet && m != http.MethodPost {
		errs = append(errs, fmt.Errorf("%snotify_method: must be GET or POST, not %q", prefix, s.Method))
	}
	if len(s.Agents) == 0 {
		errs = append(errs, fmt.Errorf("%sagents: must map at least one login to its extension", prefix))
	}
	return errors.Join(errs...)
}

// Webhook is the HTTP bridge's endpoint for these reports: events of the
// mapped agents, formatted by s, a report the CRM refuses for good (4xx)
// dropped rather than retried.
func (s *SeniorReports) Webhook(name, url string) httpbridge.WebhookConfig {
	agents := make([]string, 0, len(s.Agents))
	for l := range s.Agents {
		agents = append(agents, l)
	}
	sort.Strings(agents)
	return httpbridge.WebhookConfig{Name: name, URL: url, Kinds: []string{relay.KindEvent}, Agents: agents, Format: s.Format, DropRefused: true}
}

func (s *SeniorReports) init() error {
	if s.ready {
		return nil
	}
	v, err := s.Vars.WithDefaults()
	if err != nil {
		return err
	}
	s.vars, s.track, s.made, s.ext = v, newTracker(), map[int64]report{}, map[string]string{}
	for l, ext := range s.Agents {
		s.ext[strings.ToLower(strings.TrimSpace(l))] = ext
	}
	s.ready = true
	return nil
}

// Format is httpbridge.WebhookConfig.Format: the report entry e makes, if
// any. It follows each agent's call through its events, so it must see
// them in journal order: an entry delivered again (after a lag or a
// re-enable) gets what it made the first time, and one from before what it
// remembers (a replay) starts the calls afresh.
func (s *SeniorReports) Format(ctx context.Context, e relay.JournalEntry) (httpbridge.WebhookRequest, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.init(); err != nil {
		return httpbridge.WebhookRequest{}, false // Check refuses such a configuration
	}
	if e.ID <= s.last {
		if r, ok := s.made[e.ID]; ok {
			return r.req, r.send
		}
		s.track, s.made, s.order = newTracker(), map[int64]report{}, nil
	}
	s.last = e.ID
	req, send := s.report(ctx, e)
	s.made[e.ID] = report{req, send}
	s.order = append(s.order, e.ID)
	if len(s.order) > madeKept {
		delete(s.made, s.order[0])
		s.order = s.order[1:]
	}
	return req, send
}

func (s *SeniorReports) report(ctx context.Context, e relay.JournalEntry) (httpbridge.WebhookRequest, bool) {
	what, login, c, busy := s.track.apply(e)
	ext := s.ext[strings.ToLower(login)]
	if c == nil || ext == "" {
		return httpbridge.WebhookRequest{}, false
	}
	var nt httpdial.Notification
	switch what {
	case evRing:
		c.pop = s.Rules.decide(ctx, s.Journal, e.ID, login, ext, c.caller, busy)
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
		return httpbridge.WebhookRequest{}, false // a recording alone goes with the next report
	}
	if !c.pop.Pop {
		return httpbridge.WebhookRequest{}, false
	}
	nt.Audio = c.audio
	q := s.vars.Values(nt)
	if cu := c.pop.Customer; cu != nil {
		if s.CustomerCodeVar != "" {
			q.Set(s.CustomerCodeVar, cu.Code)
		}
		if s.CustomerNameVar != "" {
			q.Set(s.CustomerNameVar, cu.Name)
		}
	}
	req := httpbridge.WebhookRequest{Method: http.MethodGet, Query: q.Encode()}
	if strings.EqualFold(s.Method, http.MethodPost) {
		req = httpbridge.WebhookRequest{Method: http.MethodPost, ContentType: "application/x-www-form-urlencoded", Body: []byte(q.Encode())}
	}
	if len(s.Headers) > 0 {
		req.Header = http.Header{}
		for k, v := range s.Headers {
			req.Header.Set(k, v)
		}
	}
	return req, true
}
