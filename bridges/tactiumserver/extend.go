package tactiumserver

import (
	"context"
	"errors"
	"strings"

	"github.com/ctirelay/ctirelay/relay"
)

// What a backend needs beyond answering commands: frames the Tactium
// document does not define (extension verbs), answers it sends itself in
// order with other traffic, and events it routes itself.

// ErrAnswered, returned by a backend, means it has already sent the answer
// on the session (Session.Send or Deliver): the server sends nothing more.
var ErrAnswered = errors.New("answer already sent")

// ErrSessionClosed is returned by Session.Deliver once the connection is
// closed or closing.
var ErrSessionClosed = errors.New("session closed")

// ExtensionBackend is implemented by backends that take frames the server
// does not know: a verb outside the Tactium command set or with arguments it
// does not take, and ADMSOCKET frames other than its logon and logoff. With
// handled false the server answers as it would without the extension
// (UNKNOWN_VERB, BAD_ARGS, REJECTED ...); otherwise frames and err are
// answered like a command's.
type ExtensionBackend interface {
	Backend
	Extension(ctx context.Context, session *Session, f relay.Frame) (frames []relay.Frame, handled bool, err error)
}

// extension offers f to the backend's extension, reporting whether it was
// handled (and answered).
func (x *Session) extension(f relay.Frame) bool {
	ext, ok := x.srv.Backend.(ExtensionBackend)
	if !ok {
		return false
	}
	frames, handled, err := ext.Extension(x.ctx, x, f)
	if !handled {
		return false
	}
	x.answer(routable(f.Login()), frames, err)
	return true
}

// answer sends a backend's answer: its frames, OK when there are none, ERR
// for an error, nothing when the backend answered itself or the connection
// is gone.
func (x *Session) answer(login string, frames []relay.Frame, err error) {
	if x.ctx.Err() != nil || errors.Is(err, ErrAnswered) {
		return
	}
	if err != nil {
		p := relay.AsProtocolError(err)
		x.reply(relay.ErrReply(login, p.Code, p.Message))
		return
	}
	if len(frames) == 0 {
		frames = []relay.Frame{relay.OK(login)}
	}
	x.reply(frames...)
}

// Send queues frames for the client without waiting, like the server's own
// answers and Publish: a client that lets its queue fill is disconnected.
func (x *Session) Send(frames ...relay.Frame) { x.reply(frames...) }

// Deliver queues frames for the client at its pace, so a backend can
// stream more frames than the queue holds (a replay). It fills at most half
// of the queue, waiting for the client to read, which leaves the other half
// for Send and Publish: a client keeping up is never taken for a slow
// reader. It returns ErrSessionClosed once the connection is closing, or
// ctx's error.
func (x *Session) Deliver(ctx context.Context, frames ...relay.Frame) error {
	room := max(cap(x.out)/2, 1)
	bytesRoom := max(x.srv.lim.OutboundBytes/2, 1)
	for _, f := range frames {
		b := x.srv.Charset.AppendFrame(nil, f)
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			x.mu.Lock()
			gone := x.closed || x.finishing
			queued := false
			if !gone && len(x.out) < room && (x.queued == 0 || x.queued+len(b) <= bytesRoom) {
				select {
				case x.out <- b:
					x.queued += len(b)
					x.srv.buffered.Add(int64(len(b)))
					queued = true
				default:
				}
			}
			x.mu.Unlock()
			if gone {
				return ErrSessionClosed
			}
			if queued {
				break
			}
			select {
			case <-x.wrote:
			case <-x.done:
				return ErrSessionClosed
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return nil
}

// Bind subscribes the connection to an agent's events, as <login><S>$ does.
// It reports false when the connection is already bound to MaxLogins agents.
func (x *Session) Bind(login string) bool {
	x.bind(login)
	return x.BoundTo(login)
}

// BoundTo reports whether the connection is bound to the agent (case
// ignored); ADMSOCKET does not count, see Admin.
func (x *Session) BoundTo(login string) bool {
	key := strings.ToLower(login)
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.logins[key]
}

// Close closes the connection at once, dropping what is queued.
func (x *Session) Close() { x.close("closed by the backend") }

// Sessions returns the open connections, in no particular order.
func (s *Server) Sessions() []*Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Session, 0, len(s.sessions))
	for x := range s.sessions {
		out = append(out, x)
	}
	return out
}

// Shutdown stops accepting connections, lets every connection write what is
// already queued for it, then stops as Stop does. Connections still writing
// when ctx ends are closed with the rest.
func (s *Server) Shutdown(ctx context.Context) {
	s.mu.Lock()
	ln, stopped := s.ln, s.stopped
	s.mu.Unlock()
	if ln != nil && !stopped {
		ln.Close()
		sessions := s.Sessions()
		for _, x := range sessions {
			x.finish()
		}
		for _, x := range sessions {
			select {
			case <-x.done:
			case <-ctx.Done():
			}
		}
	}
	s.Stop()
}
