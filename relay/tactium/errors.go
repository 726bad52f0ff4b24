package tactium

import (
	"errors"
	"fmt"

	"github.com/ctirelay/ctirelay/relay"
)

// ErrInDoubt is relay.ErrInDoubt: a command written to the switch and never
// answered (connection lost, reply timeout, caller gave up); the switch may
// have carried it out. The engine retries idempotent verbs and applies its
// in-doubt policy to the others.
var ErrInDoubt = relay.ErrInDoubt

// ErrClosed is the cause reported for commands cut off by Close.
var ErrClosed = errors.New("tactium driver closed")

// inDoubt classifies a command that was sent and not answered. The cause is
// kept as text only, so the classification rests on ErrInDoubt alone.
func inDoubt(cmd relay.Command, cause error) error {
	return fmt.Errorf("tactium %s %s: %w: %v", cmd.Login, cmd.Verb, relay.ErrInDoubt, cause)
}

// notSent classifies a command that never left the relay: always retryable.
func notSent(cmd relay.Command, cause error) error {
	return relay.Transient(fmt.Errorf("tactium %s %s: not sent: %w", cmd.Login, cmd.Verb, cause))
}
