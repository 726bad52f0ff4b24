package main

import (
	"context"
	"log/slog"

	"github.com/ctirelay/ctirelay/relay/httpdial"
	"github.com/ctirelay/ctirelay/relay/httpdial/simplatform"
	"github.com/ctirelay/ctirelay/relay/sim"
)

// clickToDialOptions are sim's flags for serving the switch as a
// click-to-dial platform (relay/httpdial/simplatform).
type clickToDialOptions struct {
	listen, notify, notifyMethod string
	path, hangupPath             string
	originVar, destinationVar    string
	auth                         int
	user, password, token        string
	vars                         httpdial.Vars
}

// flagDefiner is what the sim's flag set (pflag) offers.
type flagDefiner interface {
	StringVar(p *string, name, value, usage string)
	IntVar(p *int, name string, value int, usage string)
}

func (o *clickToDialOptions) define(fs flagDefiner) {
	fs.StringVar(&o.listen, "clicktodial", "", "also serve the switch as a click-to-dial platform on this host:port (docs/httpdial.md)")
	fs.StringVar(&o.notify, "notify", "", "URL the click-to-dial platform reports its calls to (start, ringing, answer, end)")
	fs.StringVar(&o.notifyMethod, "notify-method", "POST", "POST (a form) or GET (a query) for the reports")
	fs.StringVar(&o.path, "clicktodial-path", simplatform.DefaultPath, "the dial's path (cti_caminho)")
	fs.StringVar(&o.hangupPath, "hangup-path", simplatform.DefaultHangupPath, "the hang-up's path (extension in --origin-var)")
	fs.StringVar(&o.originVar, "origin-var", httpdial.DefaultOriginVar, "the dial's extension variable (cti_nome_origem)")
	fs.StringVar(&o.destinationVar, "destination-var", httpdial.DefaultDestinationVar, "the dial's number variable (cti_nome_destino)")
	fs.IntVar(&o.auth, "auth", 0, "authentication required (cti_autenticacao): 0 none, 1 basic, 2 token_auth header, 3 token in the URL, 4 basic + header")
	fs.StringVar(&o.user, "auth-user", "", "user for --auth 1 and 4")
	fs.StringVar(&o.password, "auth-password", "", "password for --auth 1 and 4 (env CTIRELAY_CLICKTODIAL_PASSWORD)")
	fs.StringVar(&o.token, "auth-token", "", "token for --auth 2, 3 and 4 (env CTIRELAY_CLICKTODIAL_TOKEN)")
	fs.StringVar(&o.vars.Event, "var-event", "evento", "report variable: the event")
	fs.StringVar(&o.vars.Origin, "var-origin", "origem", "report variable: the caller of a received call (nome_variavel_origem)")
	fs.StringVar(&o.vars.Destination, "var-destination", "destino", "report variable: the extension of a received call (nome_variavel_destino)")
	fs.StringVar(&o.vars.OriginOut, "var-origin-out", "origem_sainte", "report variable: the extension of an outgoing call (nome_variavel_origem_sainte)")
	fs.StringVar(&o.vars.DestinationOut, "var-destination-out", "destino_sainte", "report variable: the number of an outgoing call (nome_variavel_destino_sainte)")
	fs.StringVar(&o.vars.Audio, "var-audio", "audio", "report variable: the recording's address (nome_variavel_audio)")
	fs.StringVar(&o.vars.CallID, "var-call-id", "id", "report variable: the call's id")
}

// start serves sw as a click-to-dial platform when --clicktodial is set; it
// returns the address and the function that stops it.
func (o *clickToDialOptions) start(ctx context.Context, env *cli, sw *sim.Switch, log *slog.Logger) (addr string, stop func(), err error) {
	if o.listen == "" {
		if o.notify != "" {
			return "", nil, usagef("--notify needs --clicktodial")
		}
		return "", func() {}, nil
	}
	if o.password == "" {
		o.password = env.getenv("CTIRELAY_CLICKTODIAL_PASSWORD")
	}
	if o.token == "" {
		o.token = env.getenv("CTIRELAY_CLICKTODIAL_TOKEN")
	}
	p, err := simplatform.New(simplatform.Config{
		Addr: o.listen, Switch: sw, Path: o.path, HangupPath: o.hangupPath,
		OriginVar: o.originVar, DestinationVar: o.destinationVar,
		Auth: httpdial.AuthMode(o.auth), Credentials: httpdial.Credentials{User: o.user, Password: o.password, Token: o.token},
		NotifyURL: o.notify, NotifyMethod: o.notifyMethod, Vars: o.vars,
		Logger: log.With("server", "clicktodial"),
	})
	if err != nil {
		return "", nil, err
	}
	if err := p.Start(ctx); err != nil {
		return "", nil, err
	}
	return p.Addr().String(), p.Stop, nil
}
