package relay

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestAdmit(t *testing.T) {
	t.Parallel()
	big := "<jose><G><" + strings.Repeat("x", 100<<10) + ">$" // 100 KB
	longLogin := strings.Repeat("j", 257)
	exact := "<jose><P><ON><" + strings.Repeat("1", DefaultMaxFrame-16) + ">$"
	tests := []struct {
		name    string
		raw     string
		max     int
		agent   string
		verb    Verb
		code    string
		message string
		reply   string // the ERR reply, "" when none can be routed
	}{
		{name: "command", raw: "<jose><L><ON>$", agent: "jose", verb: VerbLogon},
		{name: "lower case verb", raw: "<jose><pos><off>$", agent: "jose", verb: VerbWrapUpEnd},
		{name: "whitespace around", raw: "\r\n <jose><S>$ \r\n", agent: "jose", verb: VerbStatus},
		{name: "login trimmed", raw: "< jose\t><S>$", agent: "jose", verb: VerbStatus},
		{name: "trailing <$ as printed", raw: "<jose><TR><17/08/2010 15:00><><$", agent: "jose", verb: VerbCallback},
		{name: "utf-8", raw: "<jose><A><><40050500><Campanha_Cobrança>$", agent: "jose", verb: VerbDial},
		{name: "exactly the limit", raw: exact, agent: "jose", verb: VerbPause},
		{name: "exactly a small limit", raw: "<jose><S>$", max: 10, agent: "jose", verb: VerbStatus},
		{
			name: "100 KB", raw: big, agent: "jose", code: CodeTooLarge,
			message: fmt.Sprintf("frame of %d bytes is over the 8192-byte limit", len(big)),
			reply:   fmt.Sprintf("<jose><ERR><TOO_LARGE><frame of %d bytes is over the 8192-byte limit>$", len(big)),
		},
		{
			name: "one byte over the limit", raw: exact + " ", agent: "jose", code: CodeTooLarge,
			message: "frame of 8193 bytes is over the 8192-byte limit",
			reply:   "<jose><ERR><TOO_LARGE><frame of 8193 bytes is over the 8192-byte limit>$",
		},
		{
			name: "one byte over a small limit", raw: "<jose><S>$", max: 9, agent: "jose", code: CodeTooLarge,
			message: "frame of 10 bytes is over the 9-byte limit",
			reply:   "<jose><ERR><TOO_LARGE><frame of 10 bytes is over the 9-byte limit>$",
		},
		{
			name: "too large with unclosed login", raw: "<jose" + strings.Repeat("x", DefaultMaxFrame), code: CodeTooLarge,
			message: "frame of 8197 bytes is over the 8192-byte limit",
		},
		{
			name: "too large with a login too long to route", raw: "<" + longLogin + "><G><" + strings.Repeat("x", DefaultMaxFrame) + ">$", code: CodeTooLarge,
			message: fmt.Sprintf("frame of %d bytes is over the 8192-byte limit", len(longLogin)+DefaultMaxFrame+8),
		},
		{
			name: "windows-1252 text", raw: "<jose><A><><40050500><Campanha_Cobran\xe7a>$", agent: "jose", code: CodeEncoding,
			message: "frame is not valid UTF-8",
			reply:   "<jose><ERR><ENCODING><frame is not valid UTF-8>$",
		},
		{
			name: "windows-1252 login", raw: "<Jo\xe3o><S>$", agent: "Jo?o", code: CodeEncoding,
			message: "frame is not valid UTF-8",
			reply:   "<Jo?o><ERR><ENCODING><frame is not valid UTF-8>$",
		},
		{
			name: "unknown verb", raw: "<jose><XYZ>$", agent: "jose", code: CodeUnknownVerb,
			message: `unknown verb "XYZ"`,
			reply:   `<jose><ERR><UNKNOWN_VERB><unknown verb "XYZ">$`,
		},
		{
			// '>' cannot travel inside a field, so the message's <ON> arrives as <ON).
			name: "bad arguments", raw: "<jose><L><MAYBE>$", agent: "jose", code: CodeBadArgs,
			message: "L: expected <ON> or <OFF>",
			reply:   "<jose><ERR><BAD_ARGS><L: expected <ON) or <OFF)>$",
		},
		{
			name: "empty login", raw: "<><S>$", code: CodeMalformed,
			message: "the first field (agent login) is empty",
		},
		{
			name: "blank login", raw: "< ><S>$", code: CodeMalformed,
			message: "the first field (agent login) is empty",
		},
		{
			name: "login too long to route", raw: "<" + longLogin + "><S>$", code: CodeMalformed,
			message: "the first field (agent login) is empty",
		},
		{
			name: "missing verb", raw: "<jose>$", agent: "jose", code: CodeMalformed,
			message: "the second field (verb) is missing",
			reply:   "<jose><ERR><MALFORMED><the second field (verb) is missing>$",
		},
		{
			name: "missing dollar", raw: "<jose><S>", agent: "jose", code: CodeMalformed,
			message: "malformed frame at byte 9: missing '$' at the end",
			reply:   "<jose><ERR><MALFORMED><malformed frame at byte 9: missing '$' at the end>$",
		},
		{
			name: "garbage between fields", raw: " <jose>;<S>$", agent: "jose", code: CodeMalformed,
			message: "malformed frame at byte 7: unexpected ';' between fields",
			reply:   "<jose><ERR><MALFORMED><malformed frame at byte 7: unexpected ';' between fields>$",
		},
		{
			name: "data after the frame", raw: "<jose><S>$<maria><S>$", agent: "jose", code: CodeMalformed,
			message: "malformed frame at byte 10: data after the closing '$'",
			reply:   "<jose><ERR><MALFORMED><malformed frame at byte 10: data after the closing '$'>$",
		},
		{
			name: "unclosed login", raw: "<jose", code: CodeMalformed,
			message: "malformed frame at byte 0: field 1 has no closing angle bracket",
		},
		{
			// The reason travels inside the ERR's message field, where a '>'
			// would arrive as ')' and tell the sender the wrong character.
			name: "unclosed second field", raw: "<jose><S", agent: "jose", code: CodeMalformed,
			message: "malformed frame at byte 6: field 2 has no closing angle bracket",
			reply:   "<jose><ERR><MALFORMED><malformed frame at byte 6: field 2 has no closing angle bracket>$",
		},
		{
			name: "closing bracket first", raw: "><jose><S>$", code: CodeMalformed,
			message: "malformed frame at byte 0: expected '<', found a closing angle bracket",
		},
		{name: "empty", raw: "", code: CodeMalformed, message: "malformed frame at byte 0: empty message"},
		{name: "not a frame", raw: "hello", code: CodeMalformed, message: "malformed frame at byte 0: expected '<', found 'h'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := Admit(tt.raw, tt.max)
			if a.Frame != tt.raw {
				t.Errorf("Frame = %q, want the message as received", a.Frame)
			}
			if a.Agent != tt.agent {
				t.Errorf("Agent = %q, want %q", a.Agent, tt.agent)
			}
			if tt.code == "" {
				if a.Err != nil || a.Verb != tt.verb {
					t.Fatalf("Admit = verb %q, ERR %v; want verb %q and no error", a.Verb, a.Err, tt.verb)
				}
				if a.Reply() != nil {
					t.Errorf("Reply() = %q for an admitted command", a.Reply())
				}
				return
			}
			if a.Err == nil {
				t.Fatalf("Admit = verb %q, want ERR %s", a.Verb, tt.code)
			}
			if a.Err.Code != tt.code || a.Err.Message != tt.message {
				t.Errorf("Admit = ERR %s %q, want ERR %s %q", a.Err.Code, a.Err.Message, tt.code, tt.message)
			}
			if a.Verb != "" {
				t.Errorf("Verb = %q for a rejected message", a.Verb)
			}
			reply := ""
			if r := a.Reply(); r != nil {
				reply = r.String()
			}
			if reply != tt.reply {
				t.Errorf("Reply() = %q, want %q", reply, tt.reply)
			}
		})
	}
}

// Every message of testdata/frames/invalid.txt is refused with its code, and
// answered when a login can be read.
func TestAdmitInvalidExamples(t *testing.T) {
	t.Parallel()
	for _, e := range loadInvalidExamples(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			a := Admit(e.Message, 0)
			if a.Err == nil {
				t.Fatalf("Admit(%q) admitted verb %s, want ERR %s", e.Message, a.Verb, e.Code)
			}
			if a.Err.Code != e.Code {
				t.Errorf("Admit(%q) = ERR %s %q, want ERR %s", e.Message, a.Err.Code, a.Err.Message, e.Code)
			}
			agent := e.Agent
			if agent == "-" {
				agent = ""
			}
			if a.Agent != agent {
				t.Errorf("Admit(%q).Agent = %q, want %q", e.Message, a.Agent, agent)
			}
			r := a.Reply()
			if agent == "" {
				if r != nil {
					t.Errorf("Reply() = %q, want none", r)
				}
				return
			}
			want := ErrReply(agent, e.Code, a.Err.Message)
			if r.String() != want.String() {
				t.Errorf("Reply() = %q, want %q", r, want)
			}
		})
	}
}

func TestAdmissionReply(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		a    Admission
		want string
	}{
		{name: "admitted", a: Admission{Agent: "jose", Verb: VerbStatus}},
		{name: "no login", a: Admission{Err: &ProtocolError{Code: CodeMalformed, Message: "x"}}},
		{name: "refused", a: Admission{Agent: "jose", Err: &ProtocolError{Code: CodeRejected, Message: "no"}}, want: "<jose><ERR><REJECTED><no>$"},
		{name: "empty message", a: Admission{Agent: "jose", Err: &ProtocolError{Code: CodeShutdown}}, want: "<jose><ERR><SHUTDOWN><>$"},
	}
	for _, tt := range tests {
		got := ""
		if r := tt.a.Reply(); r != nil {
			got = r.String()
		}
		if got != tt.want {
			t.Errorf("%s: Reply() = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestAsProtocolError(t *testing.T) {
	t.Parallel()
	tooLarge := NewDecoder(strings.NewReader("<jose><G><"+strings.Repeat("x", 64)+">$"), 32)
	_, tooLargeErr := tooLarge.Next()
	tests := []struct {
		name string
		err  error
		code string
		msg  string
	}{
		{name: "protocol error kept", err: Errorf(CodeNotLoggedOn, "agent %s is not logged on", "jose"), code: CodeNotLoggedOn, msg: "agent jose is not logged on"},
		{name: "wrapped protocol error", err: fmt.Errorf("execute: %w", Errorf(CodeInvalidState, "busy")), code: CodeInvalidState, msg: "busy"},
		{name: "frame error", err: &FrameError{Offset: 3, Reason: "missing '$' at the end"}, code: CodeMalformed, msg: "malformed frame at byte 3: missing '$' at the end"},
		{name: "parse error", err: func() error { _, err := Parse("<a>"); return err }(), code: CodeMalformed, msg: "malformed frame at byte 3: missing '$' at the end"},
		{
			name: "decoder too large", err: tooLargeErr, code: CodeTooLarge, msg: "malformed frame at byte 0: frame too large: over 32 bytes",
		},
		{name: "anything else is a rejection", err: errors.New("switch said no"), code: CodeRejected, msg: "switch said no"},
		{name: "transient", err: Transient(errors.New("timeout")), code: CodeRejected, msg: "transient: timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := AsProtocolError(tt.err)
			if p.Code != tt.code || p.Message != tt.msg {
				t.Fatalf("AsProtocolError(%v) = %s %q, want %s %q", tt.err, p.Code, p.Message, tt.code, tt.msg)
			}
		})
	}
}
