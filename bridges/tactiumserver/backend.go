package tactiumserver

import (
	"context"

	"github.com/ctirelay/ctirelay/relay"
)

// Backend carries out the commands received on the socket. The server calls
// it for one command of a connection at a time, in the order received, so
// replies keep their order; different connections call it concurrently.
type Backend interface {
	// Command returns the frames answering cmd (none means <login><OK>$). An
	// error is answered <login><ERR><code><message>$ with the code of a
	// *relay.ProtocolError (REJECTED for other errors). ctx ends when the
	// connection closes or the server stops.
	Command(ctx context.Context, session *Session, cmd relay.Command) ([]relay.Frame, error)
}

// BackendFunc adapts a function to Backend.
type BackendFunc func(ctx context.Context, session *Session, cmd relay.Command) ([]relay.Frame, error)

// Command calls fn.
func (fn BackendFunc) Command(ctx context.Context, session *Session, cmd relay.Command) ([]relay.Frame, error) {
	return fn(ctx, session, cmd)
}
