package tactiumserver

import (
	"crypto/subtle"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/ctirelay/ctirelay/relay"
)

// read handles the client's frames in order until it closes its side or the
// connection ends. Bad frames are answered ERR and the connection is kept.
func (x *Session) read() {
	defer x.srv.wg.Done()
	dec := relay.NewDecoder(x.nc, x.srv.lim.MaxFrameBytes)
	for {
		f, err := dec.Next()
		if err != nil {
			var fe *relay.FrameError
			if errors.As(err, &fe) {
				x.touch()
				x.reply(relay.ErrReply(x.wireLogin(fe.Login), frameErrCode(err), fe.Error()))
				continue
			}
			x.finish()
			return
		}
		x.touch()
		x.handle(f)
		if x.ctx.Err() != nil {
			return
		}
	}
}

// frameErrCode is TOO_LARGE for an oversized frame, MALFORMED otherwise.
func frameErrCode(err error) string {
	if errors.Is(err, relay.ErrTooLarge) {
		return relay.CodeTooLarge
	}
	return relay.CodeMalformed
}

// wireLogin makes a login read from a broken frame fit to route an ERR.
func (x *Session) wireLogin(raw string) string {
	f, err := x.srv.Charset.DecodeFrame(relay.Frame{raw})
	if err != nil {
		return strings.TrimSpace(strings.ToValidUTF8(raw, "?"))
	}
	if len(f[0]) > 256 {
		return ""
	}
	return strings.TrimSpace(f[0])
}

// handle answers one frame: ADMSOCKET binding here, agent commands through
// the backend after binding the connection for S and L ON.
func (x *Session) handle(raw relay.Frame) {
	f, err := x.srv.Charset.DecodeFrame(raw)
	if err != nil {
		x.reply(relay.ErrReply(x.wireLogin(raw.Login()), relay.CodeEncoding, "frame is not valid "+x.srv.Charset.String()+": "+err.Error()))
		return
	}
	if strings.EqualFold(f.Login(), relay.AdminLogin) {
		x.monitor(f)
		return
	}
	cmd, err := relay.ParseCommand(f)
	if err != nil {
		if x.extension(f) {
			return
		}
		p := relay.AsProtocolError(err)
		x.reply(relay.ErrReply(routable(f.Login()), p.Code, p.Message))
		return
	}
	// Section 2.1 binds on S, section 4.1 on L ON; both are honoured. The
	// binding comes first so events the command causes reach the client.
	if cmd.Verb == relay.VerbStatus || (cmd.Verb == relay.VerbLogon && strings.EqualFold(cmd.Arg(0), "ON")) {
		x.bind(cmd.Login)
	}
	frames, err := x.srv.Backend.Command(x.ctx, x, cmd)
	x.answer(cmd.Login, frames, err)
}

// monitor handles the monitoring login: L ON or S binds the connection to
// every agent (with the secret as the next field when one is configured),
// L OFF unbinds it.
func (x *Session) monitor(f relay.Frame) {
	login := f.Login()
	verb, arg := strings.ToUpper(f.Verb()), strings.ToUpper(f.Arg(0))
	var secret string
	switch {
	case verb == "L" && arg == "ON":
		secret = f.Arg(1)
	case verb == "S":
		secret = f.Arg(0)
	case verb == "L" && arg == "OFF":
		x.setAdmin(false)
		x.reply(relay.OK(login))
		return
	default:
		if x.extension(f) {
			return
		}
		x.reply(relay.ErrReply(login, relay.CodeRejected, relay.AdminLogin+" is the monitoring login: send <"+relay.AdminLogin+"><L><ON>$"))
		return
	}
	if want := x.srv.AdminSecret; want != "" && subtle.ConstantTimeCompare([]byte(secret), []byte(want)) != 1 {
		x.srv.log.Warn("tactium server: monitoring logon refused: wrong or missing secret", "session", x.id, "remote", x.nc.RemoteAddr().String())
		x.reply(relay.ErrReply(login, CodeUnauthorized, "wrong or missing secret: send <"+relay.AdminLogin+"><L><ON><secret>$"))
		return
	}
	x.setAdmin(true)
	x.srv.log.Info("tactium server: monitoring connection", "session", x.id, "remote", x.nc.RemoteAddr().String())
	x.reply(relay.OK(login))
}

// routable keeps a login usable inside an ERR reply.
func routable(login string) string {
	if len(login) > 256 || !utf8.ValidString(login) {
		return ""
	}
	return strings.TrimSpace(login)
}
