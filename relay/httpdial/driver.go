package httpdial

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/ctirelay/ctirelay/relay"
)

var _ relay.Driver = (*Driver)(nil)

// ErrClosed is the cause reported for commands and notifications after Close.
var ErrClosed = errors.New("httpdial driver closed")

// ErrNotOpen is returned by Notify before Open: no sink takes events yet.
var ErrNotOpen = errors.New("httpdial driver not open")

// Driver dials through a click-to-dial platform.
type Driver struct {
	cfg    Config
	client *http.Client
	owner  map[string]string // extension → login

	life   context.Context // ends at Close: cuts requests and deliveries
	cancel context.CancelFunc

	mu      sync.Mutex
	opened  bool
	closed  bool
	sink    relay.EventSink
	calls   map[string]*call // login → the call notifications say it is on
	running sync.WaitGroup   // Execute and Notify calls under way

	deliver sync.Mutex // one notification's events reach the sink at a time

	// Health (health.go): the platform is reached per request.
	failing    bool // the last request did not reach the platform
	since      time.Time
	reconnects int64
	lastErr    string
	requests   int64
}

// New validates cfg and builds the driver; nothing is sent before Execute.
func New(cfg Config) (*Driver, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	transport := cfg.Transport
	if transport == nil {
		transport = &http.Transport{
			Proxy:                  http.ProxyFromEnvironment,
			DialContext:            (&net.Dialer{Timeout: cfg.ConnectTimeout}).DialContext,
			TLSClientConfig:        cfg.TLS,
			TLSHandshakeTimeout:    cfg.ConnectTimeout,
			ResponseHeaderTimeout:  cfg.RequestTimeout,
			MaxResponseHeaderBytes: 64 << 10,
			// A fresh connection per request: on a reused one the
			// transport itself resends a GET whose connection broke, which
			// for a dial could ring a customer twice. Sent or not sent
			// stays this driver's to decide.
			DisableKeepAlives: true,
		}
	}
	owner := make(map[string]string, len(cfg.Agents))
	for login, a := range cfg.Agents {
		owner[a.Extension] = login
	}
	life, cancel := context.WithCancel(context.Background())
	return &Driver{
		cfg: cfg, owner: owner, life: life, cancel: cancel, calls: map[string]*call{},
		client: &http.Client{
			Transport: transport,
			Timeout:   cfg.RequestTimeout,
			// A dial answered by a redirect is refused, not followed: the
			// platform did not take it here, and sending it elsewhere is
			// not ours to decide.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}, nil
}

// Open starts delivering notified calls (see Notify) to sink. The platform
// has no session to open: nothing is sent.
func (d *Driver) Open(_ context.Context, sink relay.EventSink) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.closed:
		return ErrClosed
	case d.opened:
		return errors.New("httpdial driver already open")
	}
	d.opened, d.sink = true, sink
	d.since = time.Now()
	return nil
}

// Supports reports the verbs with a URL template (A always), and S, which
// the driver answers from what the platform's notifications told it.
func (d *Driver) Supports(v relay.Verb) bool {
	if v == relay.VerbStatus {
		return true
	}
	_, ok := d.cfg.Templates[v]
	return ok
}

// Execute sends the command's request. S is answered here: 3 (busy) while a
// notified call is under way, 1 for an agent with an extension, 0 for
// logins the platform does not know. The URL shown in logs and errors
// never carries the token.
func (d *Driver) Execute(ctx context.Context, cmd relay.Command) ([]relay.Frame, error) {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil, notSent(cmd, ErrClosed)
	}
	if cmd.Verb == relay.VerbStatus {
		defer d.mu.Unlock()
		return []relay.Frame{relay.StatusReply(cmd.Login, d.stateLocked(cmd.Login))}, nil
	}
	d.running.Add(1)
	d.mu.Unlock()
	defer d.running.Done()

	tpl, ok := d.cfg.Templates[cmd.Verb]
	if !ok {
		return nil, relay.Errorf(relay.CodeUnsupported, "the click-to-dial platform has no URL for %s", cmd.Verb)
	}
	agent, ok := d.cfg.Agents[cmd.Login]
	if !ok {
		return nil, relay.Errorf(relay.CodeNotLoggedOn, "agent %s has no extension at the click-to-dial platform", cmd.Login)
	}
	r := request{login: cmd.Login, ramal: agent.Extension, args: cmd.Frame.Args(), creds: agent.Credentials.merge(d.cfg.Global)}
	if cmd.Verb == relay.VerbDial {
		phone, err := d.cfg.Rules.Destination(cmd.Arg(0), cmd.Arg(1))
		if err != nil {
			return nil, err
		}
		r.phone = phone
	}
	send, show, err := d.cfg.buildURL(tpl, r)
	if err != nil {
		return nil, relay.Errorf(relay.CodeBadArgs, "%s: %v", cmd.Verb, err)
	}
	return d.do(ctx, cmd, send, show, r.creds)
}

func (d *Driver) stateLocked(login string) relay.AgentState {
	switch {
	case d.calls[login] != nil:
		return relay.StateBusy
	case d.cfg.Agents[login].Extension != "":
		return relay.StateAvailable
	}
	return relay.StateLoggedOff
}

// do sends one request and classifies the outcome: not sent (transient),
// sent and unanswered (in doubt), or the platform's answer.
func (d *Driver) do(ctx context.Context, cmd relay.Command, send, show string, creds Credentials) ([]relay.Frame, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	defer context.AfterFunc(d.life, func() { cancel(ErrClosed) })()

	var wrote atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(i httptrace.WroteRequestInfo) {
			if i.Err == nil {
				wrote.Store(true)
			}
		},
	})
	req, err := http.NewRequestWithContext(ctx, d.cfg.Method, send, nil)
	if err != nil {
		return nil, relay.Errorf(relay.CodeBadArgs, "%s: %s is not a request", cmd.Verb, show)
	}
	if d.cfg.Auth.basic() {
		req.SetBasicAuth(creds.User, creds.Password)
	}
	if d.cfg.Auth.header() {
		req.Header.Set(TokenHeader, creds.Token)
	}
	start := time.Now()
	resp, err := d.client.Do(req)
	if err != nil {
		cause := transportCause(ctx, err)
		if s := scrub(cause.Error(), creds); s != cause.Error() {
			cause = errors.New(s)
		}
		d.cfg.Logger.Warn("click-to-dial request failed", "agent", cmd.Login, "verb", string(cmd.Verb), "url", show, "sent", wrote.Load(), "err", cause)
		if !errors.Is(cause, ErrClosed) && ctx.Err() == nil {
			d.reached(false, cause.Error())
		}
		if !wrote.Load() {
			return nil, notSent(cmd, cause)
		}
		return nil, inDoubt(cmd, cause.Error())
	}
	defer resp.Body.Close()
	d.reached(true, "")
	body, _ := io.ReadAll(io.LimitReader(resp.Body, int64(d.cfg.MaxBodyBytes)))
	code := resp.StatusCode
	d.cfg.Logger.Info("click-to-dial request", "agent", cmd.Login, "verb", string(cmd.Verb), "url", show, "status", code, "took", time.Since(start))
	if strings.Contains(resp.Header.Get("Content-Type"), "html") {
		// An error page: its text, not its markup.
		body = htmlTag.ReplaceAll(body, []byte(" "))
	}
	msg := func() string { return scrub(message(body, d.cfg.MaxMessage), creds) }
	switch {
	case code >= 200 && code <= 299:
		return []relay.Frame{relay.OK(cmd.Login)}, nil
	case code >= 300 && code <= 399:
		return nil, relay.Errorf(relay.CodeRejected, "the platform answered %d (a redirect, not followed)", code)
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		// The platform says it did not carry the request out: retried.
		return nil, relay.Transient(fmt.Errorf("httpdial %s %s: the platform answered %d: %s", cmd.Login, cmd.Verb, code, msg()))
	case code >= 400 && code <= 499:
		return nil, relay.Errorf(relay.CodeRejected, "the platform answered %d: %s", code, msg())
	}
	return nil, relay.Errorf(relay.CodeRejected, "the platform answered %d", code)
}

var htmlTag = regexp.MustCompile(`(?s)<(script|style)[^>]*>.*?</(script|style)>|<[^>]*>`)

// transportCause is what went wrong, without the URL (url.Error quotes it,
// token included) and naming Close when that is why.
func transportCause(ctx context.Context, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if c := context.Cause(ctx); errors.Is(c, ErrClosed) {
		return ErrClosed
	}
	return err
}

// notSent classifies a request that never reached the platform: retryable
// for every verb.
func notSent(cmd relay.Command, cause error) error {
	return relay.Transient(fmt.Errorf("httpdial %s %s: not sent: %w", cmd.Login, cmd.Verb, cause))
}

// inDoubt classifies a request the platform received and never answered: it
// may have dialled. The cause is text only, so only ErrInDoubt classifies it.
func inDoubt(cmd relay.Command, cause string) error {
	return fmt.Errorf("httpdial %s %s: %w: %s", cmd.Login, cmd.Verb, relay.ErrInDoubt, cause)
}

// message is the readable part of an answer's body, at most max bytes: a
// JSON body's message field when it has one, else the text, on one line.
func message(body []byte, max int) string {
	s := jsonMessage(body)
	if s == "" {
		s = string(body)
	}
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
	if s == "" {
		return "(no message)"
	}
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// Close ends the driver: requests under way are cut (in doubt when sent),
// later ones fail as not sent, and no event reaches the sink once it has
// returned. Safe twice.
func (d *Driver) Close() error {
	d.mu.Lock()
	if !d.closed && d.opened {
		d.since = time.Now()
	}
	d.closed = true
	d.mu.Unlock()
	d.cancel()
	d.running.Wait()
	d.client.CloseIdleConnections()
	return nil
}

// jsonMessage finds the message of a JSON error body, or "".
func jsonMessage(body []byte) string {
	var m map[string]any
	if json.Unmarshal(body, &m) != nil {
		return ""
	}
	for _, k := range []string{"message", "mensagem", "msg", "error", "erro", "detail"} {
		if s, ok := m[k].(string); ok && s != "" {
			return s
		}
	}
	return ""
}
