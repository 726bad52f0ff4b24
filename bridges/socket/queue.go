package socket

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ctirelay/ctirelay/bridges/tactiumserver"
	"github.com/ctirelay/ctirelay/relay"
)

var _ tactiumserver.ExtensionBackend = (*Bridge)(nil)

// enqueueTimeout bounds one Enqueue. It is not tied to the connection: a
// command received is queued even if its client leaves at once.
const enqueueTimeout = 10 * time.Second

// waiter is a command of a connection waiting for its reply.
type waiter struct {
	id      int64
	session *tactiumserver.Session
	done    chan struct{} // closed once its replies are sent
}

// Command implements tactiumserver.Backend: the command enters the durable queue
// and the connection waits for its reply, which the follower writes.
func (b *Bridge) Command(ctx context.Context, x *tactiumserver.Session, cmd relay.Command) ([]relay.Frame, error) {
	return b.queue(ctx, x, cmd.Frame)
}

// Extension implements tactiumserver.ExtensionBackend: REPLAY is the bridge's
// own verb; any other frame the server could not take as a command is
// offered to the queue as well, which dead-letters and journals it like a
// bad T_TTI row and gives the ERR to answer. ADMSOCKET frames other than
// REPLAY are left to the server.
func (b *Bridge) Extension(ctx context.Context, x *tactiumserver.Session, f relay.Frame) ([]relay.Frame, bool, error) {
	if strings.EqualFold(f.Verb(), VerbReplay) {
		return b.replay(ctx, x, f)
	}
	if strings.EqualFold(strings.TrimSpace(f.Login()), relay.AdminLogin) {
		return nil, false, nil
	}
	frames, err := b.queue(ctx, x, f)
	return frames, true, err
}

func (b *Bridge) queue(ctx context.Context, x *tactiumserver.Session, f relay.Frame) ([]relay.Frame, error) {
	if b.stopping.Load() {
		return nil, relay.Errorf(relay.CodeShutdown, "the relay is stopping and did not take the command: send it again once it is back")
	}
	w := &waiter{session: x, done: make(chan struct{})}
	in := relay.Inbound{Source: relay.SourceSocket, Ref: b.ref(x), Raw: f.String()}
	qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), enqueueTimeout)
	b.wmu.Lock()
	res, err := b.cfg.Store.Enqueue(qctx, []relay.Inbound{in}, b.cfg.Clock.Now(), b.cfg.MaxFrame)
	if err == nil && len(res) == 1 && res[0].Err == nil {
		w.id = res[0].ID
		b.waiters[w.id] = w
	}
	b.wmu.Unlock()
	cancel()
	switch {
	case err != nil:
		b.log.Error("socket bridge: enqueue", "err", err, "ref", in.Ref, "frame", in.Raw)
		return nil, relay.Errorf(relay.CodeRejected, "the relay could not queue the command; send it again")
	case len(res) != 1:
		return nil, fmt.Errorf("enqueue returned %d results for 1 message", len(res))
	case res[0].Err != nil:
		return nil, res[0].Err
	}
	select {
	case <-w.done:
		return nil, tactiumserver.ErrAnswered
	case <-ctx.Done():
		// The client left; the command still runs and its reply stays in
		// the journal.
		b.wmu.Lock()
		if b.waiters[w.id] == w {
			delete(b.waiters, w.id)
		}
		b.wmu.Unlock()
		return nil, ctx.Err()
	}
}

// ref names the connection in relay_inbox.source_ref and the journal.
func (b *Bridge) ref(x *tactiumserver.Session) string {
	r := fmt.Sprintf("%d@%s", x.ID(), x.RemoteAddr())
	if b.cfg.Node != "" {
		r = b.cfg.Node + "/" + r
	}
	return r
}

// complete releases a waiter whose replies have all been sent.
func (b *Bridge) complete(w *waiter) {
	b.wmu.Lock()
	defer b.wmu.Unlock()
	if b.waiters[w.id] == w {
		delete(b.waiters, w.id)
		close(w.done)
	}
}

func (b *Bridge) waiterFor(id int64) *waiter {
	b.wmu.Lock()
	defer b.wmu.Unlock()
	return b.waiters[id]
}
