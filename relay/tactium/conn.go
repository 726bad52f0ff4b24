package tactium

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// Reasons a command connection is closed on purpose.
var (
	errReplyTimeout = errors.New("no reply within the reply timeout")
	errRetired      = errors.New("retired after a reply that is also an event")
	errIdle         = errors.New("idle")
)

// cmdConn is one login's command connection: at most one command waits for
// its answer on it, and every frame that is not that answer is dropped (the
// monitoring connection carries the events).
type cmdConn struct {
	d   *Driver
	key string
	nc  net.Conn

	mu      sync.Mutex
	waiting *pending
	closed  bool
	err     error
	done    chan struct{} // closed when the reader has returned

	lastUsed time.Time // guarded by d.mu
}

// pending is the command waiting for its answer.
type pending struct {
	cmd   relay.Command
	reply chan relay.Frame // buffered: the reader never blocks on it
}

func newCmdConn(d *Driver, key string, nc net.Conn) *cmdConn {
	return &cmdConn{d: d, key: key, nc: nc, done: make(chan struct{})}
}

// roundTrip writes cmd and waits for its answer. sent reports whether any of
// it may have reached the server, which decides between "retry" and "in doubt".
func (c *cmdConn) roundTrip(ctx context.Context, cmd relay.Command) (f relay.Frame, sent bool, err error) {
	p := &pending{cmd: cmd, reply: make(chan relay.Frame, 1)}
	c.mu.Lock()
	if c.closed {
		err := c.err
		c.mu.Unlock()
		return nil, false, fmt.Errorf("connection closed: %w", err)
	}
	c.waiting = p
	c.mu.Unlock()

	wire := c.d.cfg.Charset.AppendFrame(nil, cmd.Frame)
	_ = c.nc.SetWriteDeadline(time.Now().Add(c.d.cfg.WriteTimeout))
	if n, err := c.nc.Write(wire); err != nil {
		err = fmt.Errorf("write: %w", err)
		c.shutdown(err)
		return nil, n > 0, err
	}
	select {
	case f := <-p.reply:
		return f, true, nil
	case <-c.done:
	case <-c.d.cfg.Clock.After(c.d.cfg.ReplyTimeout):
		c.shutdown(errReplyTimeout)
	case <-ctx.Done():
		c.shutdown(ctx.Err())
	}
	// The answer may have come in just before the connection ended.
	select {
	case f := <-p.reply:
		return f, true, nil
	default:
	}
	return nil, true, c.cause()
}

// read hands answers to the waiting command until the connection ends.
func (c *cmdConn) read() {
	defer c.d.wg.Done()
	defer close(c.done)
	defer c.d.forget(c)
	dec := relay.NewDecoder(c.nc, c.d.cfg.MaxFrameBytes)
	for {
		f, err := dec.Next()
		if errors.Is(err, relay.ErrFrame) {
			c.d.log.Warn("unreadable frame on a command connection", "agent", c.key, "err", err)
			continue
		}
		if err != nil {
			c.shutdown(fmt.Errorf("connection lost: %w", err))
			return
		}
		if f, err = c.d.cfg.Charset.DecodeFrame(f); err != nil {
			c.d.log.Warn("frame not in the configured charset", "agent", c.key, "err", err)
			continue
		}
		c.deliver(f)
	}
}

func (c *cmdConn) deliver(f relay.Frame) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.waiting; p != nil && answers(p.cmd, f) {
		c.waiting = nil
		p.reply <- f
		return
	}
	c.d.log.Debug("frame on a command connection ignored", "agent", c.key, "frame", f.String())
}

// shutdown closes the connection once, remembering why.
func (c *cmdConn) shutdown(err error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed, c.err, c.waiting = true, err, nil
	c.mu.Unlock()
	c.nc.Close()
}

func (c *cmdConn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

func (c *cmdConn) cause() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		return errors.New("connection closed")
	}
	return c.err
}
