// Package simplatform serves the simulated switch (relay/sim) as a
// click-to-dial platform of the kind Senior CRM X is configured against: a
// dial is GET or POST /$caminho?$nomeOrigem=$ramal&$nomeDestino=$phone with
// one of the document's four authentication modes, and the platform reports
// each call (start, ringing, answer, end, with the recording's address) to a
// URL with configurable variable names. `ctirelay sim --clicktodial` runs it,
// so the httpdial driver can be tried with no platform.
//
// The platform's extension is the simulated agent's login: the first dial
// from extension 3501 logs agent "3501" on. docs/simulator.md describes it.
package simplatform

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/httpdial"
	"github.com/ctirelay/ctirelay/relay/sim"
)

// Defaults for the zero values of Config.
const (
	DefaultPath       = "api/clicktodial"
	DefaultHangupPath = "api/hangup"
	// RecordingsPath serves the recordings named in the audio variable.
	RecordingsPath = "/gravacoes/"
)

// Config configures the platform.
type Config struct {
	Addr   string      // host:port to listen on
	Switch *sim.Switch // started and stopped by the caller
	// Path, OriginVar and DestinationVar are the dial URL's cti_caminho,
	// cti_nome_origem and cti_nome_destino; HangupPath hangs up the call of
	// the extension in OriginVar.
	Path, HangupPath          string
	OriginVar, DestinationVar string
	// Auth and Credentials are what requests must carry (cti_autenticacao).
	Auth        httpdial.AuthMode
	Credentials httpdial.Credentials
	// NotifyURL receives the call reports (none when empty), as a POSTed
	// form, or as a query with NotifyMethod GET, named by Vars.
	NotifyURL    string
	NotifyMethod string
	Vars         httpdial.Vars
	Client       *http.Client // for the reports; a 5-second client when nil
	Logger       *slog.Logger
}

// Platform is the simulated click-to-dial platform.
type Platform struct {
	cfg  Config
	life relay.StartStop
	addr net.Addr

	mu      sync.Mutex
	calls   map[string]*call         // extension → its call, as reported
	pending map[string]chan struct{} // extension → a dial whose start is not yet queued

	reports chan url.Values
}

// call is what has been reported of one call.
type call struct {
	dir                 httpdial.Direction
	origin, destination string
	audio               string
	answered            bool
	// hungUp marks a call ended by the hang-up URL before its answer event
	// came through: that event, when it comes, is stale.
	hungUp bool
}

// New validates cfg.
func New(cfg Config) (*Platform, error) {
	if cfg.Switch == nil {
		return nil, errors.New("simplatform: no switch")
	}
	def := func(s *string, d string) {
		if *s == "" {
			*s = d
		}
	}
	def(&cfg.Path, DefaultPath)
	def(&cfg.HangupPath, DefaultHangupPath)
	def(&cfg.OriginVar, httpdial.DefaultOriginVar)
	def(&cfg.DestinationVar, httpdial.DefaultDestinationVar)
	def(&cfg.NotifyMethod, http.MethodPost)
	cfg.Path, cfg.HangupPath = "/"+strings.TrimPrefix(cfg.Path, "/"), "/"+strings.TrimPrefix(cfg.HangupPath, "/")
	cfg.NotifyMethod = strings.ToUpper(cfg.NotifyMethod)
	if cfg.NotifyMethod != http.MethodGet && cfg.NotifyMethod != http.MethodPost {
		return nil, fmt.Errorf("simplatform: notify method must be GET or POST, not %q", cfg.NotifyMethod)
	}
	if cfg.NotifyURL != "" {
		if u, err := url.Parse(cfg.NotifyURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("simplatform: notify URL %q is not an http(s) URL", cfg.NotifyURL)
		}
	}
	vars, err := cfg.Vars.WithDefaults()
	if err != nil {
		return nil, fmt.Errorf("simplatform: variables: %w", err)
	}
	cfg.Vars = vars
	if cfg.Auth < httpdial.AuthNone || cfg.Auth > httpdial.AuthBasicHeader {
		return nil, fmt.Errorf("simplatform: auth %d is not 0 to 4", cfg.Auth)
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 5 * time.Second}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Platform{cfg: cfg, calls: map[string]*call{}, pending: map[string]chan struct{}{}, reports: make(chan url.Values, 1024)}, nil
}

// Start listens and begins reporting the switch's calls.
func (p *Platform) Start(ctx context.Context) error { return p.life.Start(ctx, p.startUp) }

// Stop stops serving and reporting; safe twice.
func (p *Platform) Stop() { p.life.Stop() }

// Addr is the address the platform listens on, once started.
func (p *Platform) Addr() net.Addr { return p.addr }

func (p *Platform) startUp(context.Context) (func(), error) {
	ln, err := net.Listen("tcp", p.cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("click-to-dial listen: %w", err)
	}
	p.addr = ln.Addr()
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 5 * time.Second, MaxHeaderBytes: 16 << 10, ErrorLog: slog.NewLogLogger(p.cfg.Logger.Handler(), slog.LevelWarn)}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(ln)
	}()
	events, unsubscribe := p.cfg.Switch.Subscribe(sim.DefaultEventBuffer)
	followed := make(chan struct{})
	go func() {
		defer close(followed)
		for f := range events {
			p.event(f)
		}
	}()
	reportCtx, cancelReports := context.WithCancel(context.Background())
	reported := make(chan struct{})
	go func() {
		defer close(reported)
		p.report(reportCtx)
	}()
	return func() {
		_ = srv.Close()
		<-served
		unsubscribe()
		<-followed
		cancelReports()
		<-reported
	}, nil
}

// ServeHTTP answers dials, hang-ups and recordings.
func (p *Platform) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasPrefix(r.URL.Path, RecordingsPath) && r.Method == http.MethodGet:
		serveRecording(w)
		return
	case r.URL.Path != p.cfg.Path && r.URL.Path != p.cfg.HangupPath:
		answer(w, http.StatusNotFound, "no such path")
		return
	case r.Method != http.MethodGet && r.Method != http.MethodPost:
		answer(w, http.StatusMethodNotAllowed, "GET or POST")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		answer(w, http.StatusBadRequest, "unreadable form")
		return
	}
	if !p.authorised(r) {
		answer(w, http.StatusUnauthorized, "autenticação recusada")
		return
	}
	ramal := r.Form.Get(p.cfg.OriginVar)
	if !digits(ramal) {
		answer(w, http.StatusBadRequest, fmt.Sprintf("%s: %q is not an extension", p.cfg.OriginVar, ramal))
		return
	}
	if r.URL.Path == p.cfg.HangupPath {
		p.hangUp(w, r, ramal)
		return
	}
	phone := r.Form.Get(p.cfg.DestinationVar)
	if !digits(phone) {
		answer(w, http.StatusBadRequest, fmt.Sprintf("%s: %q is not a number", p.cfg.DestinationVar, phone))
		return
	}
	p.dial(w, r, ramal, phone)
}

func (p *Platform) authorised(r *http.Request) bool {
	want := p.cfg.Credentials
	eq := func(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
	mode := p.cfg.Auth
	if mode == httpdial.AuthBasic || mode == httpdial.AuthBasicHeader {
		u, pw, ok := r.BasicAuth()
		if !ok || !eq(u, want.User) || !eq(pw, want.Password) {
			return false
		}
	}
	if mode == httpdial.AuthHeader || mode == httpdial.AuthBasicHeader {
		if !eq(r.Header.Get(httpdial.TokenHeader), want.Token) {
			return false
		}
	}
	if mode == httpdial.AuthURLToken && !eq(r.URL.Query().Get("token"), want.Token) {
		return false
	}
	return true
}

// dial logs the extension's agent on when it is not, and dials: the call is
// reported as started and ringing once the switch has it.
func (p *Platform) dial(w http.ResponseWriter, r *http.Request, ramal, phone string) {
	ctx := r.Context()
	if state, _ := p.cfg.Switch.Agent(ramal); state == relay.StateLoggedOff {
		if err := p.handle(ctx, ramal, "L", "ON"); err != nil {
			p.refuse(w, err)
			return
		}
	}
	// An answer event may come before this handler has queued the start:
	// the follower waits for it.
	queued := make(chan struct{})
	p.mu.Lock()
	p.pending[ramal] = queued
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.pending, ramal)
		p.mu.Unlock()
		close(queued)
	}()
	if err := p.handle(ctx, ramal, "A", "", phone, ""); err != nil {
		p.refuse(w, err)
		return
	}
	p.cfg.Logger.Info("click-to-dial", "extension", ramal, "destination", phone)
	p.mu.Lock()
	c := &call{dir: httpdial.Outbound, origin: ramal, destination: phone}
	p.calls[ramal] = c
	p.mu.Unlock()
	p.send(httpdial.EventStart, c)
	p.send(httpdial.EventRinging, c)
	answer(w, http.StatusOK, "OK")
}

func (p *Platform) hangUp(w http.ResponseWriter, r *http.Request, ramal string) {
	if err := p.handle(r.Context(), ramal, "D"); err != nil {
		p.refuse(w, err)
		return
	}
	// The switch answers D with EndCall and sends no event: report it here.
	p.mu.Lock()
	c := p.calls[ramal]
	if c != nil && !c.answered {
		p.calls[ramal] = &call{hungUp: true}
	} else {
		delete(p.calls, ramal)
	}
	p.mu.Unlock()
	if c == nil {
		c = &call{dir: httpdial.Outbound, origin: ramal}
	}
	p.send(httpdial.EventEnd, c)
	answer(w, http.StatusOK, "OK")
}

func (p *Platform) refuse(w http.ResponseWriter, err error) {
	var pe *relay.ProtocolError
	switch {
	case errors.Is(err, sim.ErrStopped):
		answer(w, http.StatusServiceUnavailable, "the switch is stopping")
	case errors.As(err, &pe) && pe.Code == relay.CodeBadArgs:
		answer(w, http.StatusBadRequest, pe.Message)
	case errors.As(err, &pe):
		answer(w, http.StatusConflict, pe.Message)
	default:
		answer(w, http.StatusServiceUnavailable, err.Error())
	}
}

// event reports what the switch says of a call.
func (p *Platform) event(f relay.Frame) {
	ramal := f.Login()
	if !digits(ramal) {
		// An agent logged on through the Tactium socket: its extension.
		ext, ok := p.cfg.Switch.Extension(ramal)
		if !ok {
			return
		}
		ramal = ext
	}
	switch f.Verb() {
	case "A":
		p.wait(ramal)
		a := relay.ParseActiveCall(f)
		p.mu.Lock()
		c := p.calls[ramal]
		if c != nil && c.hungUp {
			delete(p.calls, ramal) // the answer of a call already reported ended
			p.mu.Unlock()
			return
		}
		if c == nil || c.dir != httpdial.Outbound {
			c = &call{dir: httpdial.Outbound, origin: ramal, destination: a.DestDDD + a.Dest}
			p.calls[ramal] = c
		}
		c.answered = true
		p.mu.Unlock()
		p.send(httpdial.EventAnswer, c)
	case "R":
		rc := relay.ParseReceptiveCall(f)
		c := &call{dir: httpdial.Inbound, origin: rc.OriginDDD + rc.Origin, destination: ramal}
		p.mu.Lock()
		p.calls[ramal] = c
		p.mu.Unlock()
		p.send(httpdial.EventRinging, c)
		p.send(httpdial.EventAnswer, c)
	case "G":
		p.mu.Lock()
		if c := p.calls[ramal]; c != nil && !c.hungUp {
			c.audio = p.recordingURL(f.Arg(0))
		}
		p.mu.Unlock()
	case "EndCall":
		p.end(ramal)
	}
}

// wait lets a dial being answered queue its start first (briefly: a dial
// stuck behind a full event queue must not stall the switch's events).
func (p *Platform) wait(ramal string) {
	p.mu.Lock()
	queued := p.pending[ramal]
	p.mu.Unlock()
	if queued != nil {
		select {
		case <-queued:
		case <-time.After(time.Second):
		}
	}
}

func (p *Platform) end(ramal string) {
	p.mu.Lock()
	c := p.calls[ramal]
	delete(p.calls, ramal)
	p.mu.Unlock()
	switch {
	case c == nil:
		c = &call{dir: httpdial.Outbound, origin: ramal}
	case c.hungUp:
		return // reported ended at the hang-up
	}
	p.send(httpdial.EventEnd, c)
}

// recordingURL is where the platform serves a recording the switch names
// by a file path.
func (p *Platform) recordingURL(file string) string {
	name := path.Base(strings.ReplaceAll(file, `\`, "/"))
	return "http://" + p.addr.String() + RecordingsPath + url.PathEscape(name)
}

// send queues a report; a full queue drops it, logged (a sim, not a CRM).
func (p *Platform) send(ev httpdial.Event, c *call) {
	if p.cfg.NotifyURL == "" {
		return
	}
	n := httpdial.Notification{Event: ev, Direction: c.dir, Origin: c.origin, Destination: c.destination}
	if ev == httpdial.EventEnd {
		n.Audio = c.audio
	}
	select {
	case p.reports <- p.cfg.Vars.Values(n):
	default:
		p.cfg.Logger.Warn("click-to-dial report dropped: queue full", "event", string(ev), "extension", n.Extension())
	}
}

// report delivers the queued reports in order until ctx ends.
func (p *Platform) report(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case q := <-p.reports:
			if err := p.post(ctx, q); err != nil {
				p.cfg.Logger.Warn("click-to-dial report failed", "err", err, "report", q.Encode())
			}
		}
	}
}

func (p *Platform) post(ctx context.Context, q url.Values) error {
	var req *http.Request
	var err error
	if p.cfg.NotifyMethod == http.MethodGet {
		u, _ := url.Parse(p.cfg.NotifyURL)
		u.RawQuery = strings.TrimPrefix(u.RawQuery+"&"+q.Encode(), "&")
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	} else {
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, p.cfg.NotifyURL, strings.NewReader(q.Encode()))
		if req != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	if err != nil {
		return err
	}
	resp, err := p.cfg.Client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("notify URL answered %d", resp.StatusCode)
	}
	return nil
}

// handle sends the switch what the agent would: <login><verb><args…>$.
func (p *Platform) handle(ctx context.Context, login, verb string, args ...string) error {
	cmd, err := relay.ParseCommand(append(relay.Frame{login, verb}, args...))
	if err == nil {
		_, err = p.cfg.Switch.Handle(ctx, cmd)
	}
	return err
}

func answer(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintln(w, msg)
}

// serveRecording answers every recording with a silent, empty WAV: enough
// for a CRM to show a player.
func serveRecording(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "audio/wav")
	hdr := []byte("RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x40\x1f\x00\x00\x80\x3e\x00\x00\x02\x00\x10\x00data\x00\x00\x00\x00")
	_, _ = w.Write(hdr)
}

func digits(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
