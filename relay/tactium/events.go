package tactium

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// errGateLost ends a monitoring connection whose relay lost the right to
// listen (Config.Monitor).
var errGateLost = errors.New("monitor lock lost")

// logonFrame is section 4.12's <ADMSOCKET><L><ON>$, with the shared secret
// as a fourth field when one is configured.
func (d *Driver) logonFrame() relay.Frame {
	f := relay.Frame{relay.AdminLogin, "L", "ON"}
	if d.cfg.AdminSecret != "" {
		f = append(f, d.cfg.AdminSecret)
	}
	return f
}

// runEvents keeps the monitoring connection open until Close, waiting a
// backoff (on the injected clock) between attempts.
func (d *Driver) runEvents(ctx context.Context, sink relay.EventSink) {
	defer d.wg.Done()
	gate := d.cfg.Monitor
	if gate == nil {
		gate = relay.OpenGate{}
	}
	failures := 0
	for {
		// Only the gate's holder listens: each relay that heard the events
		// would journal every one of them again.
		d.setStandby(true)
		lost, release, err := gate.Acquire(ctx)
		d.setStandby(false)
		if err != nil {
			return // ctx ended: the driver is closing
		}
		up, err := d.monitor(ctx, sink, lost)
		// Handed back while disconnected, so another relay that can reach
		// the switch may listen meanwhile.
		release()
		if ctx.Err() != nil {
			return
		}
		if up {
			failures = 0
		}
		failures++
		delay := d.cfg.Backoff.Delay(failures)
		d.log.Warn("monitoring connection down, reconnecting", "err", err, "in", delay)
		select {
		case <-d.cfg.Clock.After(delay):
		case <-ctx.Done():
			return
		}
	}
}

func (d *Driver) setStandby(on bool) {
	d.mu.Lock()
	d.standby = on
	d.linkChangedLocked()
	d.mu.Unlock()
}

// monitor runs one monitoring connection: logon, then every frame that is not
// a reply goes to the sink. up reports whether the server acknowledged the
// logon or sent events, which resets the backoff: a server that accepts and
// at once refuses must not be hammered.
func (d *Driver) monitor(ctx context.Context, sink relay.EventSink, lost <-chan struct{}) (up bool, err error) {
	select {
	case <-lost:
		return false, errGateLost
	default:
	}
	nc, err := d.dial(ctx)
	if err != nil {
		d.mu.Lock()
		d.lastErr = err.Error()
		d.mu.Unlock()
		return false, err
	}
	// A lost gate means another relay may be listening already: hang up.
	var gone atomic.Bool
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-lost:
			gone.Store(true)
			nc.Close()
		case <-done:
		}
	}()
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		nc.Close()
		return false, ErrClosed
	}
	d.evConn = nc
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		d.evConn, d.evUp = nil, false
		if err != nil && !d.closed && !errors.Is(err, errGateLost) {
			d.lastErr = err.Error()
		}
		d.linkChangedLocked()
		d.mu.Unlock()
		nc.Close()
	}()
	_ = nc.SetWriteDeadline(time.Now().Add(d.cfg.WriteTimeout))
	if _, err := nc.Write(d.cfg.Charset.AppendFrame(nil, d.logonFrame())); err != nil {
		return false, fmt.Errorf("send logon: %w", err)
	}
	// The document prints no answer to the logon, so the connection counts as
	// monitoring once the logon is sent; an ERR takes that back.
	d.mu.Lock()
	d.evUp = true
	if d.everUp {
		d.reconnects++
	}
	d.everUp = true
	d.linkChangedLocked()
	d.mu.Unlock()
	d.log.Info("monitoring connection open")
	dec := relay.NewDecoder(nc, d.cfg.MaxFrameBytes)
	for {
		f, err := dec.Next()
		if errors.Is(err, relay.ErrFrame) {
			d.log.Warn("unreadable frame on the monitoring connection", "err", err)
			continue
		}
		if err != nil {
			if gone.Load() {
				return up, errGateLost
			}
			return up, fmt.Errorf("read events: %w", err)
		}
		if f, err = d.cfg.Charset.DecodeFrame(f); err != nil {
			d.log.Warn("event not in the configured charset", "err", err)
			continue
		}
		switch {
		case strings.EqualFold(f.Login(), relay.AdminLogin) || f.Login() == "":
			if strings.EqualFold(f.Verb(), "ERR") {
				return up, fmt.Errorf("logon refused: %s", f.String())
			}
			if strings.EqualFold(f.Verb(), "OK") {
				up = true // acknowledged: a later loss starts the backoff afresh
			}
		case replyOnly(f):
			d.log.Debug("reply on the monitoring connection ignored", "frame", f.String())
		default:
			up = true
			sink.Event(ctx, f)
		}
	}
}
