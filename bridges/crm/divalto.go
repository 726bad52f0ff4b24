package crm

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	httpbridge "github.com/ctirelay/ctirelay/bridges/http"
	"github.com/ctirelay/ctirelay/relay"
)

// DefaultDivaltoPrefix is the path of Divalto's DhDivaltoServerCTI service,
// so its CTI module can be pointed at the relay unchanged.
const DefaultDivaltoPrefix = "/DhDivaltoServerCTI"

// When a call pops for Divalto (the document's choice of event).
const (
	PopApplication = "application" // every event is served; Divalto decides ("Laisser l'application gérer")
	PopRing        = "ring"        // at ring ("à la sonnerie")
	PopAnswer      = "answer"      // at pick-up ("au décroché")
	PopCTI         = "cti"         // on the CTI's request: only setevent's events
)

// DivaltoFormat is the <cliktocallevent> block of Divalto's configuration:
// the answer's type and field names.
type DivaltoFormat struct {
	Type      string // type_return: json (default) or xml
	JSONTel   string // json_tel ("tel")
	JSONEvent string // json_event ("event")
	// The customer's code and name from a lookup, under these JSON fields
	// or XML elements; not sent when empty.
	CustomerCode, CustomerName string

	XMLRoot          string // the answer's element ("cliktocallevent")
	XMLTel           string // xml_tel ("tel")
	XMLEvent         string // xml_event ("event")
	XMLTelInAttrib   bool   // xml_result_tel_in_attrib
	XMLTelAttrib     string // xml_tel_attrib ("value")
	XMLEventInAttrib bool   // xml_result_event_in_attrib
	XMLEventAttrib   string // xml_event_attrib ("value")
}

func (f *DivaltoFormat) defaults() {
	f.Type = strings.ToLower(or(f.Type, "json"))
	f.JSONTel, f.JSONEvent = or(f.JSONTel, "tel"), or(f.JSONEvent, "event")
	f.XMLRoot = or(f.XMLRoot, "cliktocallevent")
	f.XMLTel, f.XMLEvent = or(f.XMLTel, "tel"), or(f.XMLEvent, "event")
	f.XMLTelAttrib, f.XMLEventAttrib = or(f.XMLTelAttrib, "value"), or(f.XMLEventAttrib, "value")
}

// Publisher writes events to the ERP's outbound table and the journal: the
// store's Publish.
type Publisher interface {
	Publish(ctx context.Context, events []relay.Frame, now time.Time) error
}

// Divalto is Divalto's DhDivaltoServerCTI service: getevent answers the
// extension's latest pending pop from memory, kept current by a feed
// subscriber (no database round trip per poll); setevent lets a CTI that
// can only call URLs push a call, published as the relay's own events.
type Divalto struct {
	Feed      Subscriber
	Publisher Publisher // for setevent; nil disables it
	Prefix    string    // DefaultDivaltoPrefix
	// Agents map each login to its extension (Divalto's telorg).
	Agents  map[string]string
	PopOn   string // PopApplication (default), PopRing, PopAnswer, PopCTI
	Rules   Rules
	Format  DivaltoFormat
	Clock   relay.Clock
	Logger  *slog.Logger
	Journal Journal
	// MaxBodyBytes bounds setevent's body.
	MaxBodyBytes int64
	// Guard authenticates the pollers (group events) and setevent (group
	// commands): the HTTP bridge's bearer token — Divalto's <headers> can
	// carry it — or the service's own token in the URL.
	Guard Guard

	life   relay.StartStop
	log    *slog.Logger // Logger with component=divalto
	mu     sync.Mutex
	pops   map[string]*divaltoPop // by extension
	login  map[string]string      // extension → login
	ext    map[string]string      // lower-case login → extension
	track  *tracker
	cancel context.CancelFunc
	done   chan struct{}
}

type divaltoPop struct {
	tel, event, ident string
	customer          *Customer
	fresh             bool // not yet served
}

// Check validates the configuration, naming the key at fault under prefix.
func (d *Divalto) Check(prefix string) error {
	var errs []error
	switch d.PopOn {
	case "", PopApplication, PopRing, PopAnswer, PopCTI:
	default:
		errs = append(errs, fmt.Errorf("%spop_on: %q is not application, ring, answer or cti", prefix, d.PopOn))
	}
	switch strings.ToLower(d.Format.Type) {
	case "", "json", "xml":
	default:
		errs = append(errs, fmt.Errorf("%stype_return: %q is not json or xml", prefix, d.Format.Type))
	}
	if d.Prefix != "" && (!strings.HasPrefix(d.Prefix, "/") || strings.HasSuffix(d.Prefix, "/")) {
		errs = append(errs, fmt.Errorf("%sprefix: %q must start with / and not end with one", prefix, d.Prefix))
	}
	seen := map[string]string{}
	for login, ext := range d.Agents {
		if ext == "" {
			errs = append(errs, fmt.Errorf("%sagents.%s: empty extension", prefix, login))
		} else if other, dup := seen[ext]; dup {
			errs = append(errs, fmt.Errorf("%sagents.%s: extension %s is %s's too", prefix, login, ext, other))
		}
		seen[ext] = login
	}
	for _, n := range []struct{ key, v string }{{"json_tel", d.Format.JSONTel}, {"json_event", d.Format.JSONEvent}, {"xml_root", d.Format.XMLRoot},
		{"xml_tel", d.Format.XMLTel}, {"xml_event", d.Format.XMLEvent}, {"xml_tel_attrib", d.Format.XMLTelAttrib}, {"xml_event_attrib", d.Format.XMLEventAttrib}} {
		if strings.ContainsAny(n.v, "<>\"'& /=") {
			errs = append(errs, fmt.Errorf("%s%s: %q is not a name", prefix, n.key, n.v))
		}
	}
	if err := d.Rules.Check(prefix + "rules."); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Start subscribes to the feed; Stop ends it. Both are safe twice.
func (d *Divalto) Start(ctx context.Context) error { return d.life.Start(ctx, d.start) }

// Stop stops following the feed.
func (d *Divalto) Stop() { d.life.Stop() }

func (d *Divalto) init() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.pops != nil {
		return
	}
	d.Format.defaults()
	d.Prefix = or(d.Prefix, DefaultDivaltoPrefix)
	d.PopOn = or(d.PopOn, PopApplication)
	if d.Clock == nil {
		d.Clock = relay.SystemClock{}
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	d.log = d.Logger.With("component", "divalto")
	d.pops, d.login, d.ext, d.track = map[string]*divaltoPop{}, map[string]string{}, map[string]string{}, newTracker()
	for l, ext := range d.Agents {
		d.login[ext] = l
		d.ext[strings.ToLower(strings.TrimSpace(l))] = ext
	}
}

func (d *Divalto) start(ctx context.Context) (func(), error) {
	if d.Feed == nil {
		return nil, errors.New("divalto needs the feed")
	}
	d.init()
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	d.cancel, d.done = cancel, make(chan struct{})
	sub, err := d.subscribe(runCtx)
	if err != nil {
		cancel()
		return nil, err
	}
	go func() {
		defer close(d.done)
		for {
			select {
			case <-runCtx.Done():
				sub.Close()
				<-sub.Done()
				return
			case <-sub.Done():
			}
			if !errors.Is(sub.Err(), relay.ErrLagged) {
				return
			}
			d.log.Warn("feed subscriber lagged; resuming")
			if sub, err = d.subscribe(runCtx, relay.After(sub.Position())); err != nil {
				d.log.Error("subscribe again", "err", err)
				return
			}
		}
	}()
	return func() { cancel(); <-d.done }, nil
}

func (d *Divalto) subscribe(ctx context.Context, opts ...relay.SubscribeOption) (*relay.Subscription, error) {
	agents := make([]string, 0, len(d.Agents))
	for l := range d.Agents {
		agents = append(agents, l)
	}
	return d.Feed.Subscribe("", relay.Filter{Kinds: []string{relay.KindEvent}, Agents: agents},
		func(dl relay.Delivery) { d.apply(ctx, dl.Entry) }, opts...)
}

// apply keeps the extension's pop current with one event.
func (d *Divalto) apply(ctx context.Context, e relay.JournalEntry) {
	what, login, c, busy := d.track.apply(e)
	if c == nil {
		return
	}
	ext := d.extension(login)
	if ext == "" {
		return
	}
	switch what {
	case evRing:
		c.pop = d.Rules.decide(ctx, d.Journal, e.ID, login, ext, c.caller, busy)
	case evAnswer, evHangup:
	default:
		return // outgoing calls and recordings do not pop
	}
	if !c.pop.Pop || !d.served(what, c) {
		return
	}
	p := &divaltoPop{tel: c.caller, event: what, ident: c.ident, customer: c.pop.Customer, fresh: true}
	d.mu.Lock()
	d.pops[ext] = p
	d.mu.Unlock()
}

// served says whether what raises a pop under PopOn.
func (d *Divalto) served(what string, c *call) bool {
	switch d.PopOn {
	case PopRing:
		return what == evRing
	case PopAnswer:
		return what == evAnswer
	case PopCTI:
		return c.fromCTI
	}
	return true
}

func (d *Divalto) extension(login string) string { return d.ext[strings.ToLower(login)] }

// Handler serves {prefix}/api/cti/getevent and {prefix}/api/cti/setevent.
func (d *Divalto) Handler() http.Handler {
	d.init()
	mux := http.NewServeMux()
	mux.HandleFunc(d.Prefix+"/api/cti/getevent", d.getEvent)
	mux.HandleFunc(d.Prefix+"/api/cti/setevent", d.setEvent)
	return mux
}

// Routes are the paths Handler serves, for a mux that mounts it.
func (d *Divalto) Routes() []string {
	d.init()
	return []string{d.Prefix + "/api/cti/getevent", d.Prefix + "/api/cti/setevent"}
}

// getEvent answers the extension's latest pending pop, once, or an empty
// answer (200, no body) when there is none.
func (d *Divalto) getEvent(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "GET")
		return
	}
	if !d.Guard.allow(r, httpbridge.GroupEvents) {
		d.Guard.refuse(w)
		return
	}
	q := r.URL.Query()
	ext, ident := strings.TrimSpace(q.Get("telorg")), strings.TrimSpace(q.Get("ident"))
	if ext == "" {
		writeError(w, http.StatusBadRequest, "missing_variable", "telorg (the extension) is required")
		return
	}
	d.mu.Lock()
	_, known := d.login[ext]
	p := d.pops[ext]
	var out divaltoPop
	serve := p != nil && p.fresh && (ident == "" || p.ident == "" || ident == p.ident)
	if serve {
		p.fresh = false
		out = *p
	}
	d.mu.Unlock()
	if !known {
		writeError(w, http.StatusNotFound, "unknown_extension", "no agent has extension "+ext)
		return
	}
	if !serve {
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
		return
	}
	if d.Format.Type == "xml" {
		w.Header().Set("Content-Type", "application/xml")
		_, _ = w.Write(d.xml(out))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(d.json(out))
}

// json writes the document's answer byte for byte: {"tel":"…","event":"…"}.
func (d *Divalto) json(p divaltoPop) []byte {
	b := make([]byte, 0, 64)
	field := func(first bool, k, v string) {
		if !first {
			b = append(b, ',')
		}
		kb, _ := json.Marshal(k)
		vb, _ := json.Marshal(v)
		b = append(append(append(b, kb...), ':'), vb...)
	}
	b = append(b, '{')
	field(true, d.Format.JSONTel, p.tel)
	field(false, d.Format.JSONEvent, p.event)
	if p.customer != nil {
		if d.Format.CustomerCode != "" {
			field(false, d.Format.CustomerCode, p.customer.Code)
		}
		if d.Format.CustomerName != "" {
			field(false, d.Format.CustomerName, p.customer.Name)
		}
	}
	return append(b, '}')
}

func (d *Divalto) xml(p divaltoPop) []byte {
	var b strings.Builder
	esc := func(s string) string {
		var e strings.Builder
		_ = xml.EscapeText(&e, []byte(s))
		return e.String()
	}
	elem := func(name, v string, inAttr bool, attr string) {
		if inAttr {
			fmt.Fprintf(&b, `<%s %s="%s"/>`, name, attr, esc(v))
			return
		}
		fmt.Fprintf(&b, "<%s>%s</%s>", name, esc(v), name)
	}
	fmt.Fprintf(&b, "<%s>", d.Format.XMLRoot)
	elem(d.Format.XMLTel, p.tel, d.Format.XMLTelInAttrib, d.Format.XMLTelAttrib)
	elem(d.Format.XMLEvent, p.event, d.Format.XMLEventInAttrib, d.Format.XMLEventAttrib)
	if p.customer != nil {
		if d.Format.CustomerCode != "" {
			elem(d.Format.CustomerCode, p.customer.Code, false, "")
		}
		if d.Format.CustomerName != "" {
			elem(d.Format.CustomerName, p.customer.Name, false, "")
		}
	}
	fmt.Fprintf(&b, "</%s>", d.Format.XMLRoot)
	return []byte(b.String())
}

// setEvent takes a call pushed by a CTI (ident, telorg: the extension,
// tel: the caller, event: ring, answer or hangup) and publishes it as the
// agent's events (R, A, EndCall): in T_TTO and the journal, and served by
// getevent once the feed reads it.
func (d *Divalto) setEvent(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "GET or POST")
		return
	}
	if !d.Guard.allow(r, httpbridge.GroupCommands) {
		d.Guard.refuse(w)
		return
	}
	if d.Publisher == nil {
		writeError(w, http.StatusNotFound, "disabled", "setevent is not enabled")
		return
	}
	get, err := values(w, r, d.MaxBodyBytes)
	if err != nil {
		badBody(w, err)
		return
	}
	ext, tel, ident, event := get("telorg"), get("tel"), get("ident"), strings.ToLower(or(get("event"), evRing))
	if ext == "" || (tel == "" && event == evRing) {
		writeError(w, http.StatusBadRequest, "missing_variable", "telorg and tel are required")
		return
	}
	for what, v := range map[string]string{"telorg": ext, "tel": tel, "ident": ident} {
		if len(v) > 64 || strings.ContainsAny(v, "<>$") || strings.ContainsFunc(v, func(r rune) bool { return r < ' ' }) {
			writeError(w, http.StatusBadRequest, "bad_variable", what+" is too long or has characters a frame cannot carry")
			return
		}
	}
	d.mu.Lock()
	login, ok := d.login[ext]
	d.mu.Unlock()
	if !ok {
		if d.Journal != nil {
			d.Journal.Note(r.Context(), Note{What: "unknown-extension", Rule: "setevent", Detail: "setevent for extension " + ext + " answered 404"})
		}
		writeError(w, http.StatusNotFound, "unknown_extension", "no agent has extension "+ext)
		return
	}
	var f relay.Frame
	switch event {
	case evRing:
		f = relay.ReceptiveCall{Login: login, ID: SetEventID, Origin: tel, Dest: ext, ExternalID: ident}.Frame()
	case evAnswer:
		f = relay.ActiveCall{Login: login, ID: SetEventID, Origin: tel, Dest: ext, ExternalID: ident}.Frame()
	case evHangup:
		f = relay.EndCall(login)
	default:
		writeError(w, http.StatusBadRequest, "bad_variable", fmt.Sprintf("event %q is not ring, answer or hangup", event))
		return
	}
	if err := d.Publisher.Publish(r.Context(), []relay.Frame{f}, d.Clock.Now()); err != nil {
		d.log.Warn("setevent publish", "err", err)
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the event could not be written; retry")
		return
	}
	d.Feed.Wake()
	writeJSON(w, http.StatusOK, map[string]string{"result": "OK"})
}
