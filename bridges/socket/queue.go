package socket

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ctirelay/ctirelay/bridges/tactiumserver"
	"github.com/ctirelay/ctirelay/relay"
)

var _ tactiumserver.ExtensionBackend = (*Bridge)(nil)

// Command implements tactiumserver.Backend: the command enters the durable queue
// and the connection waits for its reply, which the delivery writes.
func (b *Bridge) Command(ctx context.Context, x *tactiumserver.Session, cmd relay.Command) ([]relay.Frame, error) {
	return b.queue(ctx, x, cmd.Frame)
}

// Extension implements tactiumserver.ExtensionBackend: REPLAY is the
// bridge's own verb. Any other frame the server could not take as a command
// is left to the server, which answers its ERR at once and counts it
// (Stats.Malformed): garbage never costs a database write, and the
// connection has nothing in flight that its ERR could overtake.
func (b *Bridge) Extension(ctx context.Context, x *tactiumserver.Session, f relay.Frame) ([]relay.Frame, bool, error) {
	if strings.EqualFold(f.Verb(), VerbReplay) {
		return b.replay(ctx, x, f)
	}
	return nil, false, nil
}

var (
	errShutdown   = relay.Errorf(relay.CodeShutdown, "the relay is stopping and did not take the command: send it again once it is back")
	errUnanswered = relay.Errorf(relay.CodeShutdown, "the relay stopped before the command was answered: one not yet sent will not be (unless it is safe to run twice); the answer of one the switch had will be in the journal")
)

// queue submits the frame through the bridge's subscription, so its
// replies are written on x by the delivery, in journal order with the
// events; the feed's submit loop commits concurrent connections' frames
// together. A command taken is queued even if its client leaves at once;
// leaving abandons it (relay.Pending.Abandon), as the relay stopping does
// (relay.WaitedFor).
func (b *Bridge) queue(ctx context.Context, x *tactiumserver.Session, f relay.Frame) ([]relay.Frame, error) {
	b.qmu.Lock()
	if b.stopping.Load() {
		b.qmu.Unlock()
		return nil, errShutdown
	}
	b.waiting.Add(1)
	b.qmu.Unlock()
	defer b.waiting.Done()
	// Answers written here, before Done, reach the client before Stop
	// closes the connection.
	shutdown := func(err error) ([]relay.Frame, error) {
		p := relay.AsProtocolError(err)
		x.Send(relay.ErrReply(strings.TrimSpace(f.Login()), p.Code, p.Message))
		return nil, tactiumserver.ErrAnswered
	}
	in := relay.Inbound{Source: relay.SourceSocket, Ref: b.ref(x), Raw: f.String()}
	ps, err := b.sub.Load().Submit(ctx, []relay.Inbound{in}, x)
	switch {
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case errors.Is(err, relay.ErrFeedStopped):
		return shutdown(errShutdown)
	case err != nil:
		b.log.Error("enqueue", "err", err, "ref", in.Ref, "frame", in.Raw)
		return nil, relay.Errorf(relay.CodeRejected, "the relay could not queue the command; send it again")
	case len(ps) != 1:
		return nil, fmt.Errorf("enqueue returned %d results for 1 message", len(ps))
	}
	p := ps[0]
	if p.Err != nil {
		return nil, p.Err
	}
	replies, err := b.wait(ctx, x, p)
	switch {
	case ctx.Err() != nil:
		// The connection closed: a non-idempotent command not yet at the
		// switch is abandoned (answered REQUESTER_GONE in the journal,
		// never sent); one at the switch, or an idempotent one, still runs
		// and its reply stays in the journal.
		p.Abandon()
		p.Forget()
		return nil, ctx.Err()
	case errors.Is(err, relay.ErrFeedStopped):
		return shutdown(errUnanswered)
	case err != nil:
		return nil, err
	}
	// The delivery wrote them, unless the subscription was not live when
	// they were read (it lagged): then they are written here.
	for _, e := range replies[min(p.Delivered(), len(replies)):] {
		b.send(x, e)
	}
	return nil, tactiumserver.ErrAnswered
}

// wait waits for p's replies. A client that hangs up meanwhile (closes the
// connection, or only its sending side) abandons the command: not yet at
// the switch and not idempotent, it will not be sent, and its reply is an
// ERR REQUESTER_GONE, written here should the client still read.
func (b *Bridge) wait(ctx context.Context, x *tactiumserver.Session, p *relay.Pending) ([]relay.JournalEntry, error) {
	select {
	case <-p.Done():
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-x.Hangup():
		p.Abandon()
	}
	return p.Wait(ctx)
}

// ref names the connection in relay_inbox.source_ref and the journal.
func (b *Bridge) ref(x *tactiumserver.Session) string {
	r := fmt.Sprintf("%d@%s", x.ID(), x.RemoteAddr())
	if b.cfg.Node != "" {
		r = b.cfg.Node + "/" + r
	}
	return r
}
