package tactiumserver

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ctirelay/ctirelay/relay"
)

// inbound is one thing read from the client, for the handler: a frame, or
// a frame error to answer.
type inbound struct {
	frame relay.Frame
	err   *relay.FrameError
	code  string
}

// read reads the client's frames, within Limits.FrameRate, and hands them
// to the handler one at a time: while a command waits for its answer it has
// read at most one frame ahead, so a client's bytes wait in the kernel, not
// here. It notices the client hanging up (Hangup) while a command waits.
func (x *Session) read() {
	defer x.srv.wg.Done()
	frames := make(chan inbound)
	x.srv.wg.Add(1)
	go x.handleAll(frames)
	defer close(frames)
	defer x.hangUp()
	dec := relay.NewDecoder(throttledConn{x}, x.srv.lim.MaxFrameBytes)
	for {
		f, err := dec.Next()
		var in inbound
		switch fe := (*relay.FrameError)(nil); {
		case err == nil:
			in.frame = f
		case errors.As(err, &fe):
			in.err, in.code = fe, frameErrCode(err)
		default:
			return // the client stopped sending, or the connection closed
		}
		x.touch()
		if !x.throttle() {
			return
		}
		select {
		case frames <- in:
		case <-x.done:
			return
		}
	}
}

// handleAll answers what read hands on, in order, then flushes and closes
// once the client has stopped sending.
func (x *Session) handleAll(frames <-chan inbound) {
	defer x.srv.wg.Done()
	for in := range frames {
		if x.ctx.Err() != nil {
			continue // closed: let read return
		}
		if in.err != nil {
			x.malformed()
			x.reply(relay.ErrReply(x.wireLogin(in.err.Login), in.code, in.err.Error()))
		} else {
			x.handle(in.frame)
		}
		if x.errored {
			// Answering garbage is held to ErrorRate: a client sending it
			// is read that much more slowly.
			x.errored = false
			if x.errs.take(x.srv, 1, x.done) == 0 {
				continue
			}
		}
	}
	x.finish()
}

// malformed counts a frame answered ERR by the server itself. Called by
// the handler.
func (x *Session) malformed() {
	x.srv.malformed.Add(1)
	x.errored = true
}

// bucket is a token bucket on the server's clock.
type bucket struct {
	rate, burst, tokens float64
	last                time.Time
}

// take takes up to n tokens (at least one), waiting for one when the
// bucket is empty: it returns how many it took, or 0 once done is closed.
func (b *bucket) take(s *Server, n int, done <-chan struct{}) int {
	now := s.clock.Now()
	if b.last.IsZero() {
		b.tokens, b.last = b.burst, now
	}
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	if b.tokens < 1 {
		// Wait for a tenth of a second's worth, not for one token: a client
		// held back wakes its reader ten times a second, not rate times.
		s.throttled.Add(1)
		need := min(b.burst, max(1, b.rate/10))
		wait := time.Duration((need - b.tokens) / b.rate * float64(time.Second))
		select {
		case <-s.clock.After(wait):
		case <-done:
			return 0
		}
		b.tokens, b.last = need, s.clock.Now()
	}
	got := min(n, int(b.tokens))
	b.tokens -= float64(got)
	return got
}

// throttle holds the reader to Limits.FrameRate: a client sending faster
// waits, and so does its TCP stream. It reports false once the connection
// closed.
func (x *Session) throttle() bool {
	return x.frames.take(x.srv, 1, x.done) == 1
}

// throttledConn reads the connection within Limits.ByteRate, so that bytes
// with no frame end in sight (a flood without '$') cost no more than
// frames do.
type throttledConn struct{ x *Session }

func (c throttledConn) Read(p []byte) (int, error) {
	n := c.x.bytes.take(c.x.srv, len(p), c.x.done)
	if n == 0 {
		return 0, net.ErrClosed
	}
	return c.x.nc.Read(p[:n])
}

// frameErrCode is TOO_LARGE for an oversized frame, MALFORMED otherwise.
func frameErrCode(err error) string {
	if errors.Is(err, relay.ErrTooLarge) {
		return relay.CodeTooLarge
	}
	return relay.CodeMalformed
}

// wireLogin makes a login read from a broken frame fit to route an ERR.
func (x *Session) wireLogin(raw string) string {
	f, err := x.srv.Charset.DecodeFrame(relay.Frame{raw})
	if err != nil {
		return strings.TrimSpace(strings.ToValidUTF8(raw, "?"))
	}
	if len(f[0]) > 256 {
		return ""
	}
	return strings.TrimSpace(f[0])
}

// handle answers one frame: ADMSOCKET binding here, agent commands through
// the backend after binding the connection for S and L ON.
func (x *Session) handle(raw relay.Frame) {
	f, err := x.srv.Charset.DecodeFrame(raw)
	if err != nil {
		x.malformed()
		x.reply(relay.ErrReply(x.wireLogin(raw.Login()), relay.CodeEncoding, "frame is not valid "+x.srv.Charset.String()+": "+err.Error()))
		return
	}
	if strings.EqualFold(f.Login(), relay.AdminLogin) {
		x.monitor(f)
		return
	}
	cmd, err := relay.ParseCommand(f)
	if err != nil {
		if x.extension(f) {
			return
		}
		x.malformed()
		p := relay.AsProtocolError(err)
		x.reply(relay.ErrReply(routable(f.Login()), p.Code, p.Message))
		return
	}
	// Section 2.1 binds on S, section 4.1 on L ON; both are honoured. The
	// binding comes first so events the command causes reach the client.
	if cmd.Verb == relay.VerbStatus || (cmd.Verb == relay.VerbLogon && strings.EqualFold(cmd.Arg(0), "ON")) {
		x.bind(cmd.Login)
	}
	frames, err := x.srv.Backend.Command(x.ctx, x, cmd)
	x.answer(cmd.Login, frames, err)
}

// monitor handles the monitoring login: L ON or S binds the connection to
// every agent (with the secret as the next field when one is configured),
// L OFF unbinds it.
func (x *Session) monitor(f relay.Frame) {
	login := f.Login()
	verb, arg := strings.ToUpper(f.Verb()), strings.ToUpper(f.Arg(0))
	var secret string
	switch {
	case verb == "L" && arg == "ON":
		secret = f.Arg(1)
	case verb == "S":
		secret = f.Arg(0)
	case verb == "L" && arg == "OFF":
		x.setAdmin(false)
		x.reply(relay.OK(login))
		return
	default:
		if x.extension(f) {
			return
		}
		x.reply(relay.ErrReply(login, relay.CodeRejected, relay.AdminLogin+" is the monitoring login: send <"+relay.AdminLogin+"><L><ON>$"))
		return
	}
	if want := x.srv.AdminSecret; want != "" && subtle.ConstantTimeCompare([]byte(secret), []byte(want)) != 1 {
		x.srv.unauthorized.Add(1) // logged in the summary
		x.srv.log.Debug("monitoring logon refused: wrong or missing secret", "session", x.id, "remote", x.nc.RemoteAddr().String())
		x.reply(relay.ErrReply(login, CodeUnauthorized, "wrong or missing secret: send <"+relay.AdminLogin+"><L><ON><secret>$"))
		return
	}
	was := x.Admin()
	if !x.setAdmin(true) {
		// Every event goes to every monitor: their number bounds the cost.
		x.srv.monitorsRefused.Add(1) // logged in the summary
		x.reply(relay.ErrReply(login, relay.CodeRejected, fmt.Sprintf("the server takes at most %d monitoring connections", x.srv.lim.MaxMonitors)))
		return
	}
	if !was { // once per connection, however often it asks
		x.srv.log.Info("monitoring connection", "session", x.id, "remote", x.nc.RemoteAddr().String())
	}
	x.reply(relay.OK(login))
}

// routable keeps a login usable inside an ERR reply.
func routable(login string) string {
	if len(login) > 256 || !utf8.ValidString(login) {
		return ""
	}
	return strings.TrimSpace(login)
}
