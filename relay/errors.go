package relay

import (
	"errors"
	"fmt"
)

// Codes carried in <login><ERR><code><message>$ replies. They are part of the
// protocol reference: ERPs branch on them.
const (
	CodeMalformed        = "MALFORMED"         // the frame cannot be read
	CodeTooLarge         = "TOO_LARGE"         // the frame is over the size limit
	CodeEncoding         = "ENCODING"          // bytes are not valid in the configured charset
	CodeUnknownVerb      = "UNKNOWN_VERB"      // no such command
	CodeBadArgs          = "BAD_ARGS"          // known verb, wrong arguments
	CodeUnsupported      = "UNSUPPORTED"       // the configured switch cannot do this verb
	CodeRejected         = "REJECTED"          // the switch refused the command
	CodeNotLoggedOn      = "NOT_LOGGED_ON"     // the agent is not logged on at the switch
	CodeInvalidState     = "INVALID_STATE"     // not possible in the agent's current state
	CodeInDoubt          = "IN_DOUBT"          // a relay died holding it; not retried
	CodeRetriesExhausted = "RETRIES_EXHAUSTED" // transient failures past the retry limit
	CodeShutdown         = "SHUTDOWN"          // the relay stopped before it could finish
)

// ProtocolError is a permanent failure that becomes an ERR reply.
type ProtocolError struct {
	Code    string
	Message string
}

func (e *ProtocolError) Error() string { return e.Code + ": " + e.Message }

// Errorf builds a permanent failure with the ERR code to answer.
func Errorf(code, format string, a ...any) error {
	return &ProtocolError{Code: code, Message: fmt.Sprintf(format, a...)}
}

// ErrInDoubt marks a failure after the command may have reached the switch:
// it was sent, then the connection dropped or the answer never came. Drivers
// wrap it (fmt.Errorf("…: %w", relay.ErrInDoubt)). The engine retries
// idempotent verbs and applies the in-doubt policy to the others, so a
// customer is never dialled twice by default. A deadline from Execute's
// context counts as in doubt too.
var ErrInDoubt = errors.New("the switch may have acted on the command")

// ErrDataRejected marks a write the database refused because of the data
// of a message, not because of its own state: a value too long for an ERP's
// column, bytes its encoding cannot hold, a check constraint or trigger of
// the ERP's. Stores wrap it (errors.Is) where they translate driver errors.
// Retrying the same message can never succeed, so the writer isolates it
// instead of retrying the batch.
var ErrDataRejected = errors.New("the database refused the data")

// TransientError marks a failure worth retrying: switch unreachable, timeout.
type TransientError struct{ Err error }

func (e *TransientError) Error() string { return "transient: " + e.Err.Error() }
func (e *TransientError) Unwrap() error { return e.Err }

// Transient wraps err as retryable.
func Transient(err error) error {
	if err == nil {
		return nil
	}
	return &TransientError{Err: err}
}

// IsTransient reports whether err should be retried. Context deadlines count
// as transient: a switch that does not answer in time may answer next time.
func IsTransient(err error) bool {
	var t *TransientError
	return errors.As(err, &t) || errors.Is(err, errDeadline)
}

// AsProtocolError extracts the ERR code and message for any error: protocol
// errors keep theirs, anything else is reported as a rejection.
func AsProtocolError(err error) *ProtocolError {
	var p *ProtocolError
	if errors.As(err, &p) {
		return p
	}
	var f *FrameError
	if errors.As(err, &f) {
		if errors.Is(err, ErrTooLarge) {
			return &ProtocolError{Code: CodeTooLarge, Message: f.Error()}
		}
		return &ProtocolError{Code: CodeMalformed, Message: f.Error()}
	}
	return &ProtocolError{Code: CodeRejected, Message: err.Error()}
}
