package tactium

import (
	"errors"
	"fmt"

	"github.com/ctirelay/ctirelay/relay"
)

// ErrInDoubt marks a command that was written to the switch but never
// answered (connection lost, reply timeout, caller gave up): the switch may
// have carried it out. Callers recognise it with errors.Is.
//
// For idempotent verbs the error is also relay.Transient, so it is retried.
// For the others (A dial, TR, C S, D) it is not transient and carries a
// relay.ProtocolError with code IN_DOUBT, so an engine that does not know
// ErrInDoubt answers ERR IN_DOUBT instead of dialling a customer twice; an
// engine that does know it applies its in-doubt policy first.
var ErrInDoubt = errors.New("sent but not answered, the switch may have acted on it")

// ErrClosed is the cause reported for commands cut off by Close.
var ErrClosed = errors.New("tactium driver closed")

// inDoubtError is a non-idempotent command whose fate is unknown.
type inDoubtError struct {
	msg   string
	proto *relay.ProtocolError
}

func (e *inDoubtError) Error() string   { return e.msg }
func (e *inDoubtError) Unwrap() []error { return []error{ErrInDoubt, e.proto} }

// inDoubt classifies a command that was sent and not answered. The cause is
// kept as text only: wrapping a context deadline would make the engine treat
// a possibly delivered dial as safe to retry.
func inDoubt(cmd relay.Command, cause error) error {
	msg := fmt.Sprintf("tactium %s %s: %v: %v", cmd.Login, cmd.Verb, ErrInDoubt, cause)
	if cmd.Verb.Idempotent() {
		return relay.Transient(fmt.Errorf("tactium %s %s: %w: %v", cmd.Login, cmd.Verb, ErrInDoubt, cause))
	}
	return &inDoubtError{msg: msg, proto: &relay.ProtocolError{Code: relay.CodeInDoubt, Message: msg}}
}

// notSent classifies a command that never left the relay: always retryable.
func notSent(cmd relay.Command, cause error) error {
	return relay.Transient(fmt.Errorf("tactium %s %s: not sent: %w", cmd.Login, cmd.Verb, cause))
}
