package relay

import (
	"strings"
	"unicode"
)

// Verb names a command sent to the switch. Verbs are matched without regard to
// case on input and always written in upper case.
type Verb string

// The Tactium command set (document section 4).
const (
	VerbLogon       Verb = "L"   // L ON | L OFF
	VerbPause       Verb = "P"   // P ON <code> | P OFF
	VerbWrapUpEnd   Verb = "POS" // POS OFF
	VerbStatus      Verb = "S"   // S
	VerbCallback    Verb = "TR"  // TR <when><phone><agent>
	VerbCallOutcome Verb = "C"   // C S <outcome>
	VerbDial        Verb = "A"   // A <ddd><phone><service>
	VerbHangUp      Verb = "D"   // D
	VerbCurrentCall Verb = "AC"  // AC
)

// Extension verbs (docs/protocol.md), for what switches beyond Tactium can
// do; only drivers whose Supports says so carry them out.
const (
	VerbConsult    Verb = "CONS" // CONS <ddd><phone> | CONS OFF
	VerbTransfer   Verb = "XFER" // XFER
	VerbConference Verb = "CONF" // CONF ADD <ddd><phone> | CONF ON | CONF OFF
)

// ExtensionVerbs lists the extension verbs; they are not in Verbs, which is
// the Tactium document's command set.
var ExtensionVerbs = []Verb{VerbConsult, VerbTransfer, VerbConference}

// Verbs lists every command verb of the Tactium document, in its order.
var Verbs = []Verb{VerbLogon, VerbPause, VerbWrapUpEnd, VerbStatus, VerbCallback, VerbCallOutcome, VerbDial, VerbHangUp, VerbCurrentCall}

// Idempotent reports whether sending the command twice has the same effect as
// once, which decides what happens when a relay dies holding it: idempotent
// commands are retried, the others are in doubt (a customer must never be
// dialled twice).
func (v Verb) Idempotent() bool {
	switch v {
	case VerbLogon, VerbPause, VerbWrapUpEnd, VerbStatus, VerbCurrentCall:
		return true
	}
	return false
}

// AdminLogin on a socket binds a connection to the events of every agent.
const AdminLogin = "ADMSOCKET"

// Command is a validated command frame.
type Command struct {
	Frame Frame
	Login string
	Verb  Verb
}

// Arg returns argument i after the verb, or "".
func (c Command) Arg(i int) string { return c.Frame.Arg(i) }

// ParseCommand validates a frame as a command: a login, a known verb and the
// arguments the verb takes. The error is a *ProtocolError carrying the code of
// the ERR reply the originator must receive.
//
// Spaces around the login are not part of it: `< jose >` is jose, in the
// routing key, in the frame sent to the switch and in the replies, so the
// returned Command's Frame carries the login trimmed.
func ParseCommand(f Frame) (Command, error) {
	if len(f) == 0 || strings.TrimSpace(f.Login()) == "" {
		return Command{}, Errorf(CodeMalformed, "the first field (agent login) is empty")
	}
	if login := strings.TrimSpace(f.Login()); login != f.Login() {
		f = append(Frame{login}, f[1:]...)
	}
	if strings.ContainsFunc(f.Login(), badLoginRune) {
		// A field may hold '<' and line breaks, so a frame left unclosed on a
		// socket swallows the next one into its login; refuse such a login.
		return Command{}, Errorf(CodeMalformed, "the agent login %q contains '<' or a control character", f.Login())
	}
	if len(f) < 2 || f.Verb() == "" {
		return Command{}, Errorf(CodeMalformed, "the second field (verb) is missing")
	}
	v := Verb(strings.ToUpper(f.Verb()))
	args := f.Args()
	on := func(i int) string { return strings.ToUpper(f.Arg(i)) }
	bad := func(format string, a ...any) (Command, error) {
		return Command{}, Errorf(CodeBadArgs, "%s: "+format, append([]any{v}, a...)...)
	}
	switch v {
	case VerbLogon:
		if len(args) != 1 || (on(0) != "ON" && on(0) != "OFF") {
			return bad("expected <ON> or <OFF>")
		}
	case VerbPause:
		switch {
		case on(0) == "ON" && len(args) == 2:
		case on(0) == "OFF" && len(args) == 1:
		default:
			return bad("expected <ON><code> or <OFF>")
		}
	case VerbWrapUpEnd:
		if len(args) != 1 || on(0) != "OFF" {
			return bad("expected <OFF>")
		}
	case VerbStatus, VerbHangUp, VerbCurrentCall:
		if len(args) != 0 {
			return bad("takes no arguments")
		}
	case VerbCallback:
		if len(args) < 1 || len(args) > 3 || strings.TrimSpace(args[0]) == "" {
			return bad("expected <date/time><phone><agent>")
		}
	case VerbCallOutcome:
		if len(args) != 2 || on(0) != "S" || args[1] == "" {
			return bad("expected <S><outcome>")
		}
	case VerbDial:
		if len(args) < 2 || len(args) > 3 || strings.TrimSpace(args[1]) == "" {
			return bad("expected <ddd><phone><service>")
		}
	case VerbConsult:
		switch {
		case on(0) == "OFF" && len(args) == 1:
		case len(args) >= 1 && len(args) <= 2 && strings.TrimSpace(args[len(args)-1]) != "":
		default:
			return bad("expected <ddd><phone> or <OFF>")
		}
	case VerbTransfer:
		if len(args) != 0 {
			return bad("takes no arguments")
		}
	case VerbConference:
		switch {
		case on(0) == "ADD" && len(args) >= 2 && len(args) <= 3 && strings.TrimSpace(args[len(args)-1]) != "":
		case (on(0) == "ON" || on(0) == "OFF") && len(args) == 1:
		default:
			return bad("expected <ADD><ddd><phone>, <ON> or <OFF>")
		}
	default:
		return Command{}, Errorf(CodeUnknownVerb, "unknown verb %q", f.Verb())
	}
	return Command{Frame: f, Login: f.Login(), Verb: v}, nil
}

// badLoginRune reports characters no agent login contains.
func badLoginRune(r rune) bool { return r == '<' || unicode.IsControl(r) }
