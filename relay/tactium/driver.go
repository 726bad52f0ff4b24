package tactium

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

var _ relay.Driver = (*Driver)(nil)

// Driver is the relay's switch driver for a Tactium IP Integration server.
//
// It keeps one monitoring connection logged on as ADMSOCKET that receives
// every event and sends nothing but its logon, and one command connection per
// agent login, identified with <login><S>$ when it opens as section 2.1 asks.
// Commands never travel on the monitoring connection: a Tactium server binds
// a connection to the login of an S or L ON it receives, which could take the
// monitoring connection away from "all agents".
type Driver struct {
	cfg Config
	log *slog.Logger

	mu       sync.Mutex
	opened   bool
	closed   bool
	cancel   context.CancelFunc
	logins   map[string]*loginState
	evConn   net.Conn // the monitoring connection while one is open
	evUp     bool     // ... and the server has acknowledged it or sent events
	standby  bool     // waiting for the Monitor gate
	dialFail int      // consecutive failed command-connection dials
	dialWait time.Time
	wg       sync.WaitGroup

	// Health (see health.go).
	cmdOK      bool      // the last command-connection dial succeeded
	linkUp     bool      // Connected as last reported
	since      time.Time // when linkUp last changed
	everUp     bool      // the monitoring connection was up once
	reconnects int64
	lastErr    string
}

// loginState serialises one login's commands and holds its connection.
type loginState struct {
	key   string
	sem   chan struct{} // one command in flight per login
	users int           // Execute calls holding or waiting for sem
	conn  *cmdConn
}

// New builds a driver; Open starts its monitoring connection.
func New(cfg Config) (*Driver, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Driver{cfg: cfg, log: cfg.Logger.With("switch", "tactium", "addr", cfg.Addr), logins: map[string]*loginState{}}, nil
}

// Open starts the monitoring connection, which delivers every event to sink
// until Close, reconnecting with backoff whenever it is lost. It does not
// fail when the server is down: commands meanwhile fail as transient.
func (d *Driver) Open(ctx context.Context, sink relay.EventSink) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return fmt.Errorf("open tactium driver: %w", ErrClosed)
	}
	if d.opened {
		return errors.New("open tactium driver: already open")
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	d.opened, d.cancel = true, cancel
	d.wg.Add(1)
	go d.runEvents(runCtx, sink)
	return nil
}

// Supports every Tactium verb.
func (d *Driver) Supports(v relay.Verb) bool { return slices.Contains(relay.Verbs, v) }

// Execute sends one command on its login's connection and waits for the
// answer. Errors: relay.Transient when the command was not sent (server
// down, connection refused); ErrInDoubt when it was sent and not answered;
// *relay.ProtocolError when the switch answered ERR.
func (d *Driver) Execute(ctx context.Context, cmd relay.Command) ([]relay.Frame, error) {
	if strings.EqualFold(cmd.Login, relay.AdminLogin) {
		return nil, relay.Errorf(relay.CodeRejected, "%s is the monitoring login, not an agent", relay.AdminLogin)
	}
	ls, err := d.acquire(ctx, cmd.Login)
	if err != nil {
		return nil, notSent(cmd, err)
	}
	defer d.release(ls)
	c, err := d.commandConn(ctx, ls, cmd.Login)
	if err != nil {
		return nil, notSent(cmd, err)
	}
	f, sent, err := c.roundTrip(ctx, cmd)
	d.touch(c)
	if err != nil {
		if !sent {
			return nil, notSent(cmd, err)
		}
		d.log.Warn("command in doubt", "agent", cmd.Login, "verb", string(cmd.Verb), "err", err)
		return nil, inDoubt(cmd, err)
	}
	if retiresConn(cmd.Verb) {
		c.shutdown(errRetired)
	}
	return result(cmd, f)
}

// Close stops the driver: commands in flight fail in doubt, the connections
// close and no event reaches the sink after it returns. Safe to call twice.
func (d *Driver) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	d.linkChangedLocked()
	if d.cancel != nil {
		d.cancel()
	}
	ev := d.evConn
	var conns []*cmdConn
	for _, ls := range d.logins {
		if ls.conn != nil {
			conns = append(conns, ls.conn)
		}
	}
	d.mu.Unlock()
	if ev != nil {
		ev.Close()
	}
	for _, c := range conns {
		c.shutdown(ErrClosed)
	}
	d.wg.Wait()
	return nil
}

// Status is what the driver knows about its connections.
type Status struct {
	Monitoring   bool // the ADMSOCKET connection is open and its logon sent
	Standby      bool // waiting for the Monitor gate: another relay listens
	CommandConns int  // open per-login connections
}

// Status reports the connections' state (for health checks and tests).
func (d *Driver) Status() Status {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := Status{Monitoring: d.evUp, Standby: d.standby}
	for _, ls := range d.logins {
		if ls.conn != nil {
			st.CommandConns++
		}
	}
	return st
}

// acquire waits for the login's previous command to finish: the engine sends
// one at a time already, but replies are only unambiguous if that holds.
func (d *Driver) acquire(ctx context.Context, login string) (*loginState, error) {
	key := strings.ToLower(login)
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil, ErrClosed
	}
	ls := d.logins[key]
	if ls == nil {
		ls = &loginState{key: key, sem: make(chan struct{}, 1)}
		d.logins[key] = ls
	}
	ls.users++
	d.mu.Unlock()
	select {
	case ls.sem <- struct{}{}:
		return ls, nil
	case <-ctx.Done():
		d.mu.Lock()
		ls.users--
		d.mu.Unlock()
		return nil, fmt.Errorf("wait for the previous command of %s: %w", login, ctx.Err())
	}
}

func (d *Driver) release(ls *loginState) {
	<-ls.sem
	d.mu.Lock()
	ls.users--
	d.mu.Unlock()
}

func (d *Driver) touch(c *cmdConn) {
	d.mu.Lock()
	c.lastUsed = d.cfg.Clock.Now()
	d.mu.Unlock()
}

// commandConn returns the login's open connection or opens one. While the
// server is unreachable, new dials wait out a backoff so a down switch is not
// hammered by every retrying command.
func (d *Driver) commandConn(ctx context.Context, ls *loginState, login string) (*cmdConn, error) {
	d.mu.Lock()
	now := d.cfg.Clock.Now()
	d.sweepLocked(now, ls)
	if c := ls.conn; c != nil && !c.isClosed() {
		d.mu.Unlock()
		return c, nil
	}
	if now.Before(d.dialWait) {
		wait := d.dialWait.Sub(now)
		d.mu.Unlock()
		return nil, fmt.Errorf("switch unreachable, next attempt in %v", wait)
	}
	d.mu.Unlock()

	nc, err := d.dial(ctx)
	d.mu.Lock()
	if err != nil {
		d.dialFail++
		d.dialWait = d.cfg.Clock.Now().Add(d.cfg.Backoff.Delay(d.dialFail))
		d.cmdOK, d.lastErr = false, err.Error()
		d.linkChangedLocked()
		d.mu.Unlock()
		return nil, err
	}
	d.dialFail, d.dialWait = 0, time.Time{}
	d.cmdOK = true
	d.linkChangedLocked()
	if d.closed {
		d.mu.Unlock()
		nc.Close()
		return nil, ErrClosed
	}
	c := newCmdConn(d, ls.key, nc)
	c.lastUsed = now
	ls.conn = c
	d.wg.Add(1)
	d.mu.Unlock()
	go c.read()

	// Section 2.1: a client identifies the agent it serves with <login><S>$.
	// Its answer (S, or ERR for an agent the switch does not know) only
	// confirms the connection works.
	hello := relay.Command{Frame: relay.Frame{login, "S"}, Login: login, Verb: relay.VerbStatus}
	if _, _, err := c.roundTrip(ctx, hello); err != nil {
		c.shutdown(err)
		return nil, fmt.Errorf("identify connection: %w", err)
	}
	d.log.Debug("command connection open", "agent", login)
	return c, nil
}

// sweepLocked closes command connections idle for IdleClose and forgets
// logins with nothing left, so neither grows without bound. keep is in use.
func (d *Driver) sweepLocked(now time.Time, keep *loginState) {
	for key, ls := range d.logins {
		if ls == keep || ls.users > 0 {
			continue
		}
		if c := ls.conn; c != nil && (c.isClosed() || now.Sub(c.lastUsed) >= d.cfg.IdleClose) {
			c.shutdown(errIdle)
			ls.conn = nil
		}
		if ls.conn == nil {
			delete(d.logins, key)
		}
	}
}

// forget drops c from its login once its reader has stopped.
func (d *Driver) forget(c *cmdConn) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if ls := d.logins[c.key]; ls != nil && ls.conn == c {
		ls.conn = nil
	}
}

func (d *Driver) dial(ctx context.Context) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.DialTimeout)
	defer cancel()
	if d.cfg.TLS != nil {
		td := tls.Dialer{Config: d.cfg.TLS}
		nc, err := td.DialContext(ctx, "tcp", d.cfg.Addr)
		if err != nil {
			if _, ok := errors.AsType[*net.OpError](err); ok {
				return nil, err // it names the address already
			}
			return nil, fmt.Errorf("tls with %s: %w", d.cfg.Addr, err)
		}
		return nc, nil
	}
	var nd net.Dialer
	nc, err := nd.DialContext(ctx, "tcp", d.cfg.Addr)
	if err != nil {
		return nil, err
	}
	return nc, nil
}
