package tactium

import (
	"slices"
	"strings"

	"github.com/ctirelay/ctirelay/relay"
)

// Replies carry no request id, so a frame is the answer to the command in
// flight on its connection when it is for the same login (compared without
// case: the document answers <jose><D>$ with <Jose><EndCall>$) and has the
// shape of that command's answer:
//
//	any command   <login><OK>$, <login><ERR>...$ (or <><ERR>...$ when the
//	              server could not read the login)
//	S             <login><S><code>$
//	D             <login><EndCall>$
//	AC            <login><A>...$ or <login><R>...$
//
// EndCall and A/R are also events; the driver retires the connection after D
// and AC so that a second copy of the same news cannot be read as the answer
// to the next command.
func answers(cmd relay.Command, f relay.Frame) bool {
	login := f.Login()
	verb := strings.ToUpper(f.Verb())
	if login == "" {
		return verb == "ERR"
	}
	if !strings.EqualFold(login, cmd.Login) {
		return false
	}
	switch verb {
	case "OK", "ERR":
		return true
	case "S":
		return cmd.Verb == relay.VerbStatus && len(f) >= 3
	case "ENDCALL":
		return cmd.Verb == relay.VerbHangUp
	case "A", "R":
		return cmd.Verb == relay.VerbCurrentCall
	}
	return false
}

// replyOnly reports frames that are only ever answers (OK, ERR, S with a
// code). Seen on the monitoring connection they are copies or strays, never
// events for the ERP.
func replyOnly(f relay.Frame) bool {
	switch strings.ToUpper(f.Verb()) {
	case "OK", "ERR":
		return true
	case "S":
		return len(f) >= 3
	}
	return false
}

// retiresConn lists the commands whose answer can also arrive as an event.
func retiresConn(v relay.Verb) bool {
	return v == relay.VerbHangUp || v == relay.VerbCurrentCall
}

// result turns the answer into what Execute returns: ERR becomes a permanent
// *relay.ProtocolError, anything else is returned with the login spelt as the
// ERP sent it, since that is the key it reads T_TTO by.
func result(cmd relay.Command, f relay.Frame) ([]relay.Frame, error) {
	if strings.EqualFold(f.Verb(), "ERR") {
		code, msg := f.Arg(0), f.Arg(1)
		if code == "" {
			code = relay.CodeRejected
		}
		if msg == "" {
			msg = "the switch refused " + string(cmd.Verb)
		}
		return nil, &relay.ProtocolError{Code: code, Message: msg}
	}
	out := slices.Clone(f)
	out[0] = cmd.Login
	return []relay.Frame{out}, nil
}
