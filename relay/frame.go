// Package relay is the domain of ctirelay: frames, commands, replies and events,
// the switch Driver seam, the Store seam and the engine that moves commands from
// the durable inbox to the switch and answers in the outbound table.
//
// It imports no database or HTTP package; adapters live in sibling packages and
// depend on this one.
package relay

import (
	"errors"
	"fmt"
	"strings"
)

// Frame is one message: its fields without the angle brackets, in order.
// Fields[0] is the routing key (the agent login), Fields[1] the verb.
type Frame []string

// NewFrame builds a frame from its fields.
func NewFrame(fields ...string) Frame { return Frame(fields) }

// Login is the routing key: the first field.
func (f Frame) Login() string {
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// Verb is the second field, as sent.
func (f Frame) Verb() string {
	if len(f) < 2 {
		return ""
	}
	return f[1]
}

// Args are the fields after the verb.
func (f Frame) Args() []string {
	if len(f) < 2 {
		return nil
	}
	return f[2:]
}

// Arg returns argument i (0-based, after the verb) or "" when absent.
func (f Frame) Arg(i int) string {
	if i+2 < len(f) {
		return f[i+2]
	}
	return ""
}

// String encodes the frame, e.g. "<jose><OK>$".
func (f Frame) String() string {
	return string(f.AppendTo(make([]byte, 0, f.encodedLen())))
}

func (f Frame) encodedLen() int {
	n := 1
	for _, s := range f {
		n += len(s) + 2
	}
	return n
}

// AppendTo appends the encoded frame to b. A '>' cannot be carried inside a
// field, so it is written as ')' rather than corrupting the framing.
func (f Frame) AppendTo(b []byte) []byte {
	for _, s := range f {
		b = append(b, '<')
		if strings.IndexByte(s, '>') < 0 {
			b = append(b, s...)
		} else {
			for i := 0; i < len(s); i++ {
				c := s[i]
				if c == '>' {
					c = ')'
				}
				b = append(b, c)
			}
		}
		b = append(b, '>')
	}
	return append(b, '$')
}

// ErrFrame is the class of every framing error; match it with errors.Is.
var ErrFrame = errors.New("malformed frame")

// FrameError says what is wrong with a frame and where.
type FrameError struct {
	Offset int    // byte offset in the input where the problem was seen
	Reason string // short lowercase phrase
	Login  string // the routing key when the first field could be read
	Err    error  // a more specific cause, such as ErrTooLarge, or nil
}

func (e *FrameError) Error() string {
	return fmt.Sprintf("malformed frame at byte %d: %s", e.Offset, e.Reason)
}

// Is makes errors.Is(err, ErrFrame) true for every FrameError.
func (e *FrameError) Is(target error) bool { return target == ErrFrame }

// Unwrap exposes the specific cause (errors.Is(err, ErrTooLarge)).
func (e *FrameError) Unwrap() error { return e.Err }

// isSpace reports the separators allowed between frames and between fields.
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// Parse reads exactly one frame from s, as stored in a table row or a spool
// file. Whitespace around the frame is ignored. Fields are substrings of s, so
// parsing allocates only the field slice.
func Parse(s string) (Frame, error) {
	f, n, err := scan(s, true)
	if err != nil {
		return nil, err
	}
	for i := n; i < len(s); i++ {
		if !isSpace(s[i]) {
			return nil, &FrameError{Offset: i, Reason: "data after the closing '$'", Login: f.Login()}
		}
	}
	return f, nil
}

// scan reads one frame from the start of s (leading whitespace skipped) and
// returns it with the number of bytes consumed. With atEnd, s is all there is:
// a trailing "<$" (a typo the Tactium document itself prints for TR) is read
// as an empty last field. Without atEnd an incomplete frame returns errShort.
func scan(s string, atEnd bool) (Frame, int, error) {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	if i == len(s) {
		if atEnd {
			return nil, i, &FrameError{Offset: i, Reason: "empty message"}
		}
		return nil, i, errShort
	}
	if s[i] != '<' {
		return nil, i, &FrameError{Offset: i, Reason: "expected '<', found " + describe(s[i])}
	}
	fields := make(Frame, 0, 4)
	for {
		// between fields: at '<', '$', a stray '>' or whitespace
		switch {
		case i == len(s):
			if atEnd {
				return nil, i, &FrameError{Offset: i, Reason: "missing '$' at the end", Login: fields.Login()}
			}
			return nil, i, errShort
		case s[i] == '$':
			if len(fields) == 0 {
				return nil, i + 1, &FrameError{Offset: i, Reason: "frame has no fields"}
			}
			return fields, i + 1, nil
		case s[i] == '<':
			end := strings.IndexByte(s[i+1:], '>')
			if end < 0 {
				if atEnd && strings.TrimRight(s[i+1:], " \t\r\n") == "$" {
					return append(fields, ""), len(s), nil
				}
				if atEnd {
					return nil, i, &FrameError{Offset: i, Reason: fmt.Sprintf("field %d has no closing angle bracket", len(fields)+1), Login: fields.Login()}
				}
				return nil, i, errShort
			}
			fields = append(fields, s[i+1:i+1+end])
			i += end + 2
		case s[i] == '>' || isSpace(s[i]):
			// Tactium's dialer events carry a stray '>' between fields; tolerate it.
			i++
		default:
			return nil, i, &FrameError{Offset: i, Reason: fmt.Sprintf("unexpected %q between fields", s[i]), Login: fields.Login()}
		}
	}
}

var errShort = errors.New("incomplete frame")

// describe names a byte for a FrameError's reason. Reasons travel inside the
// ERR reply's message field, where '>' cannot be carried (it is written as
// ')'), so a '>' is named in words rather than quoted.
func describe(c byte) string {
	if c == '>' {
		return "a closing angle bracket"
	}
	return fmt.Sprintf("%q", c)
}
