package epbx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/epbx/oauth"
	"github.com/ctirelay/ctirelay/relay/epbx/signalr"
)

// session is one agent's token, connection and tracked state.
type session struct {
	d     *Driver
	login string
	agent Agent

	cmdMu sync.Mutex // one command (or re-logon) at a time

	mu        sync.Mutex
	tok       *oauth.Source
	sc        *signalr.Client
	link      signalr.State // sc's state, as OnState last reported it
	closed    bool
	pending   bool // logged on by an earlier relay: log on again first
	loggedOn  bool
	paused    bool
	interval  int // current interval id, 0 when unknown
	intervals map[int]interval
	call      *callState
	hungUp    string // CanalId of the call our D ended: its onDesliga is the D's reply
	waiters   []*waiter
}

type interval struct {
	desc       string
	productive bool
}

type callState struct {
	frame  relay.Frame
	canal  string
	ramal  string
	global string
}

// waiter takes the first hub event among ok or fail (lower case names).
type waiter struct {
	ok, fail []string
	ch       chan signalr.Call
}

func newSession(d *Driver, login string, a Agent) *session {
	return &session{d: d, login: login, agent: a, intervals: map[int]interval{}}
}

func (s *session) status() (connected, loggedOn bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sc != nil && s.sc.State() == signalr.Connected, s.loggedOn
}

func (s *session) state() relay.AgentState {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case !s.loggedOn:
		return relay.StateLoggedOff
	case s.call != nil:
		return relay.StateBusy
	case s.paused:
		return relay.StatePaused
	}
	return relay.StateAvailable
}

// connect opens the agent's token source and SignalR connection.
func (s *session) connect(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return relay.Transient(ErrClosed)
	}
	if s.sc != nil {
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	cfg := s.d.cfg
	log := s.d.log.With("agent", s.login)
	tok, err := oauth.New(oauth.Config{BaseURL: cfg.BaseURL, ClientID: cfg.ClientID, Username: s.agent.Username, Password: s.agent.Password,
		HTTPClient: cfg.HTTPClient, Clock: cfg.Clock, Logger: log})
	if err != nil {
		return err
	}
	// The token and the connection outlive the command that opened them
	// (a component stops when its Start context ends); each request of
	// the start has its own timeout.
	life := context.WithoutCancel(ctx)
	if err := tok.Start(life); err != nil {
		s.d.connectFailed(s.login, err)
		if errors.Is(err, oauth.ErrRejected) {
			return relay.Errorf(relay.CodeRejected, "EPBX refused the credentials of user %s", s.agent.Username)
		}
		return relay.Transient(fmt.Errorf("epbx token for %s: %w", s.login, err))
	}
	sc, err := signalr.New(signalr.Config{
		URL: cfg.BaseURL + "/signalr", Hub: cfg.Hub, Token: tok.Token, TokenRejected: tok.Invalidate, TokenIn: cfg.TokenIn,
		OnCall: s.onCall, OnRestart: s.onRestart, OnState: s.onState, HTTPClient: cfg.HTTPClient, Clock: cfg.Clock, Logger: log,
	})
	if err != nil {
		tok.Stop()
		return err
	}
	if err := sc.Start(life); err != nil {
		s.d.connectFailed(s.login, err)
		tok.Stop()
		var se *signalr.StatusError
		if errors.As(err, &se) && se.Code == 403 {
			return relay.Errorf(relay.CodeRejected, "EPBX refused the connection of user %s: %v", s.agent.Username, err)
		}
		return relay.Transient(fmt.Errorf("epbx connect %s: %w", s.login, err))
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		sc.Stop()
		tok.Stop()
		return relay.Transient(ErrClosed)
	}
	s.tok, s.sc = tok, sc
	s.mu.Unlock()
	s.d.connectOK()
	log.Info("epbx connection open", "connection", sc.ConnectionID())
	return nil
}

// disconnect closes the connection (L OFF, Close).
func (s *session) disconnect() {
	s.mu.Lock()
	sc, tok := s.sc, s.tok
	s.sc, s.tok = nil, nil
	s.loggedOn, s.paused, s.call = false, false, nil
	s.mu.Unlock()
	if sc != nil {
		sc.Stop()
	}
	if tok != nil {
		tok.Stop()
	}
}

func (s *session) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.disconnect()
}

// invoke calls a hub method, bounded by ReplyTimeout, and translates its
// failures for the engine.
func (s *session) invoke(ctx context.Context, method string, args ...any) (json.RawMessage, error) {
	s.mu.Lock()
	sc := s.sc
	s.mu.Unlock()
	if sc == nil {
		return nil, relay.Transient(fmt.Errorf("epbx %s: no connection", method))
	}
	// Not a context.WithTimeout per call: a pooled timer (InvokeWithin).
	r, err := sc.InvokeWithin(ctx, s.d.cfg.ReplyTimeout, method, args...)
	var he *signalr.HubError
	switch {
	case err == nil:
		return r, nil
	case errors.Is(err, signalr.ErrNotConnected), errors.Is(err, signalr.ErrStopped):
		return nil, relay.Transient(fmt.Errorf("epbx %s: %w", method, err))
	case errors.Is(err, signalr.ErrLost):
		s.d.log.Warn("epbx command in doubt", "agent", s.login, "method", method, "err", err)
		return nil, fmt.Errorf("epbx %s: %v: %w", method, err, relay.ErrInDoubt)
	case errors.As(err, &he):
		msg := strings.Map(uncontrol, he.Message) // it goes into the ERR frame, as the events' text does
		if notLoggedOn(msg) {
			return nil, relay.Errorf(relay.CodeNotLoggedOn, "%s", msg)
		}
		return nil, relay.Errorf(relay.CodeRejected, "%s", msg)
	}
	return nil, err // the deadline: sent, no result (in doubt for the engine)
}

// notLoggedOn recognises the hub's "Ramal não logado no Atendimento".
func notLoggedOn(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "logado no atendimento") && (strings.Contains(m, "não") || strings.Contains(m, "nao"))
}

// call invokes method and, when the hub says the extension is not logged
// on (its Iniciar was lost, e.g. a PBX restart), logs on again and retries
// once: the refusal means the hub did nothing.
func (s *session) callHub(ctx context.Context, method string, args ...any) (json.RawMessage, error) {
	r, err := s.invoke(ctx, method, args...)
	var pe *relay.ProtocolError
	if !errors.As(err, &pe) || pe.Code != relay.CodeNotLoggedOn {
		return r, err
	}
	s.d.log.Info("epbx extension not logged on: Iniciar and retry", "agent", s.login, "method", method)
	if err := s.logon(ctx); err != nil {
		return nil, err
	}
	return s.invoke(ctx, method, args...)
}

// expect registers interest in the next of some hub events; call it before
// the invocation that causes them.
func (s *session) expect(ok []string, fail ...string) *waiter {
	w := &waiter{ok: ok, fail: fail, ch: make(chan signalr.Call, 1)}
	s.mu.Lock()
	s.waiters = append(s.waiters, w)
	s.mu.Unlock()
	return w
}

func (s *session) forget(w *waiter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, x := range s.waiters {
		if x == w {
			s.waiters = append(s.waiters[:i], s.waiters[i+1:]...)
			return
		}
	}
}

// await returns the event w took, or false when none came in time.
func (s *session) await(ctx context.Context, w *waiter, timeout bool) (signalr.Call, bool, error) {
	defer s.forget(w)
	d := s.d.cfg.ReplyTimeout
	if timeout {
		d = s.d.cfg.Confirm
	}
	select {
	case c := <-w.ch:
		return c, true, nil
	case <-s.d.cfg.Clock.After(d):
		return signalr.Call{}, false, nil
	case <-ctx.Done():
		return signalr.Call{}, false, ctx.Err()
	}
}

func (w *waiter) failed(c signalr.Call) bool {
	for _, f := range w.fail {
		if c.Is(f) {
			return true
		}
	}
	return false
}

// logon sends Iniciar and waits for onLogado or onLogadoErro.
func (s *session) logon(ctx context.Context) error {
	w := s.expect([]string{"onLogado"}, "onLogadoErro")
	var target any = s.agent.Target
	if s.agent.Logon == LogonIdPa {
		if n, err := strconv.Atoi(s.agent.Target); err == nil {
			target = n // the adapter sends parseInt(idPa)
		}
	}
	if _, err := s.invoke(ctx, "Iniciar", target, int(s.agent.Logon)); err != nil {
		s.forget(w)
		return err
	}
	c, ok, err := s.await(ctx, w, false)
	switch {
	case err != nil:
		return err
	case !ok:
		return fmt.Errorf("epbx Iniciar for %s: no onLogado: %w", s.login, relay.ErrInDoubt)
	case w.failed(c):
		return relay.Errorf(relay.CodeRejected, "EPBX logon failed: %s", describe(c.Args, 1))
	}
	s.mu.Lock()
	s.loggedOn = true
	s.mu.Unlock()
	return nil
}

// onRestart logs the agent on again after the connection started over
// (the hub's state was lost) and puts back its pause.
func (s *session) onRestart(ctx context.Context) {
	s.cmdMu.Lock()
	defer s.cmdMu.Unlock()
	// The new connection never hears of the old one's call (its
	// onDesliga, if any, comes with an EndCall all the same): tracked, it
	// kept S at 3 and AC on that call for ever. suspend forgets it too.
	s.mu.Lock()
	s.call, s.hungUp = nil, ""
	s.mu.Unlock()
	s.relogon(ctx, "restart")
}

// suspend closes the connection of a relay that stopped being the active
// one, keeping what is known of the agent (logged on, pause) for resume.
func (s *session) suspend() {
	s.mu.Lock()
	sc, tok := s.sc, s.tok
	s.sc, s.tok, s.call = nil, nil, nil
	s.mu.Unlock()
	if sc != nil {
		sc.Stop()
	}
	if tok != nil {
		tok.Stop()
	}
}

// resume reconnects an agent that was logged on (by this relay before it
// stood by, or by the relay it took over from) and logs it on again, as
// after a restart.
func (s *session) resume(ctx context.Context) {
	s.cmdMu.Lock()
	defer s.cmdMu.Unlock()
	s.catchUp(ctx)
}

// catchUp does a pending re-logon once, whoever comes first: resume or
// the agent's next command (which must not find the agent "logged on" at
// a hub that never saw its Iniciar). The caller holds cmdMu.
func (s *session) catchUp(ctx context.Context) {
	s.mu.Lock()
	pending, was := s.pending, s.loggedOn
	s.pending = false
	s.mu.Unlock()
	if !pending || !was {
		return
	}
	if err := s.connect(ctx); err != nil {
		s.mu.Lock()
		s.loggedOn, s.paused = false, false
		s.mu.Unlock()
		s.d.log.Warn("epbx reconnect on becoming the active relay failed: the agent logs on again at its next L ON", "agent", s.login, "err", err)
		return
	}
	s.relogon(ctx, "becoming the active relay")
}

// relogon logs a logged-on agent on again and puts back its pause; the
// caller holds cmdMu.
func (s *session) relogon(ctx context.Context, why string) {
	s.mu.Lock()
	was, paused, iv := s.loggedOn, s.paused, s.interval
	s.loggedOn = false
	s.mu.Unlock()
	if !was {
		return
	}
	log := s.d.log.With("agent", s.login)
	if err := s.logon(ctx); err != nil {
		log.Warn("epbx re-logon failed", "after", why, "err", err)
		s.note(ctx, "relogon-failed", fmt.Sprintf("EPBX: logging the agent on again after %s failed: %v", why, err))
		return
	}
	if paused && iv != 0 {
		if _, err := s.invoke(ctx, "AlterarIntervaloTipo", iv); err != nil {
			log.Warn("epbx pause not restored", "after", why, "interval", iv, "err", err)
			s.note(ctx, "relogon", fmt.Sprintf("EPBX: logged on again after %s; the pause (interval %d) not restored: %v", why, iv, err))
			return
		}
		s.mu.Lock()
		s.paused, s.interval = true, iv
		s.mu.Unlock()
	}
	log.Info("epbx agent logged on again", "after", why, "paused", paused)
	text := "EPBX: logged on again after " + why
	if paused && iv != 0 {
		text += fmt.Sprintf(", paused in interval %d", iv)
	}
	s.note(ctx, "relogon", text)
}

// note journals what the driver did to the agent by itself; a failure is
// logged only.
func (s *session) note(ctx context.Context, what, text string) {
	nb := s.d.cfg.Notes
	if nb == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stateTimeout)
	defer cancel()
	n := relay.Note{Agent: s.login, Origin: "epbx", What: what, Text: text}
	if err := nb.Note(ctx, []relay.Note{n}, s.d.cfg.Clock.Now()); err != nil {
		s.d.log.Warn("epbx note not journaled", "agent", s.login, "err", err)
	}
}

// describe renders an event argument (an exception, a message) as text.
func describe(args []json.RawMessage, i int) string {
	if i >= len(args) {
		return "no details"
	}
	var str flex // control characters made spaces: it goes into an ERR frame
	if json.Unmarshal(args[i], &str) == nil {
		return string(str)
	}
	var obj map[string]any
	if json.Unmarshal(args[i], &obj) == nil {
		for k, v := range obj {
			if strings.EqualFold(k, "message") {
				return fmt.Sprint(v)
			}
		}
	}
	return string(args[i])
}
