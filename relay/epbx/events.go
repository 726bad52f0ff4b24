package epbx

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/epbx/signalr"
)

// VerbEvent is the extension event carrying a hub event the relay has no
// frame for: <login><EV><event name><arguments as JSON>$.
const VerbEvent = "EV"

// flex reads a JSON string, number, boolean or null as text, with each
// control character (a NUL, a newline) made a space: the text goes into
// frames, and T_TTO on PostgreSQL refuses a NUL (a call's A event with a
// customer name holding one was dead-lettered, never reaching the ERP).
type flex string

func (f *flex) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*f = ""
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flex(strings.Map(uncontrol, s))
	default:
		*f = flex(b)
	}
	return nil
}

func uncontrol(r rune) rune {
	if r < 0x20 || r == 0x7f {
		return ' '
	}
	return r
}

// chamada is the hub's ChamadaInfo (field names match without regard to
// case, as encoding/json does).
type chamada struct {
	CanalID         flex `json:"CanalId"`
	Telefone        flex
	TipoDiscagem    flex
	GlobalID        flex `json:"GlobalId"`
	Direcao         flex
	CodigoCliente   flex
	NomeCliente     flex
	CodigoCampanha  flex
	TelefoneCliente flex
	InfoAdicional1  flex
	InfoAdicional2  flex
	InfoAdicional3  flex
	InfoAdicional4  flex
	InfoAdicional5  flex
}

type ramalInfo struct{ Ramal flex }

type intervalInfo struct {
	ID        flex `json:"RamalStatusDetalheId"`
	Descricao flex
	Produtivo bool
}

func arg[T any](args []json.RawMessage, i int) (T, bool) {
	var v T
	if i >= len(args) {
		return v, false
	}
	return v, json.Unmarshal(args[i], &v) == nil
}

// dialer reports whether the call came from the automatic dialer, and its
// fields as the attach info (key=value; pairs, as Tactium's dialer sends).
func (c chamada) dialer() (string, bool) {
	pairs := []struct {
		k string
		v flex
	}{
		{"codigoCliente", c.CodigoCliente}, {"nomeCliente", c.NomeCliente}, {"codigoCampanha", c.CodigoCampanha},
		{"telefoneCliente", c.TelefoneCliente}, {"infoAdicional1", c.InfoAdicional1}, {"infoAdicional2", c.InfoAdicional2},
		{"infoAdicional3", c.InfoAdicional3}, {"infoAdicional4", c.InfoAdicional4}, {"infoAdicional5", c.InfoAdicional5},
	}
	var b strings.Builder
	found := false
	for _, p := range pairs {
		if p.v != "" {
			found = true
		}
		b.WriteString(p.k + "=" + clean(string(p.v)) + ";")
	}
	return b.String(), found
}

// clean keeps a value inside one attach-info pair.
func clean(s string) string { return strings.NewReplacer(";", ",", "=", ":").Replace(s) }

// onCall handles one hub event, on the connection's reading goroutine.
func (s *session) onCall(c signalr.Call) {
	s.mu.Lock()
	taken := false
	for i, w := range s.waiters {
		if matches(c, w.ok) || matches(c, w.fail) {
			w.ch <- c
			s.waiters = append(s.waiters[:i], s.waiters[i+1:]...)
			taken = true
			break
		}
	}
	s.mu.Unlock()

	ramal, _ := arg[ramalInfo](c.Args, 0)
	switch strings.ToLower(c.Method) {
	case "onlogado", "onlogadoerro", "ondisca", "ondiscaerro", "onconferenciaerro":
		if c.Is("onLogado") {
			s.mu.Lock()
			s.loggedOn = true
			s.mu.Unlock()
		}
		// The reply to the command that caused them, when one waits; else
		// the errors are news for the ERP.
		if !taken && !c.Is("onLogado") && !c.Is("onDisca") {
			s.other(c)
		}
	case "ondeslogado":
		s.mu.Lock()
		s.loggedOn, s.paused, s.call = false, false, nil
		s.mu.Unlock()
		s.other(c)
	case "onchamada":
		ch, _ := arg[chamada](c.Args, 1)
		f := s.callFrame(ch, string(ramal.Ramal))
		s.mu.Lock()
		s.call = &callState{frame: f, canal: string(ch.CanalID), ramal: string(ramal.Ramal), global: string(ch.GlobalID)}
		s.mu.Unlock()
		s.d.emit(f)
	case "ondesliga":
		ch, _ := arg[chamada](c.Args, 1)
		s.mu.Lock()
		ours := s.hungUp != "" && s.hungUp == string(ch.CanalID)
		if ours {
			s.hungUp = ""
		}
		s.call = nil
		s.mu.Unlock()
		if !ours { // for our D, the EndCall was its reply
			s.d.emit(relay.EndCall(s.login))
		}
	case "onchamadaglobalid":
		g, _ := arg[flex](c.Args, 2)
		if g == "" {
			ch, _ := arg[chamada](c.Args, 1)
			g = ch.GlobalID
		}
		if g != "" {
			s.d.emit(relay.Recording(s.login, s.recordingURL(string(g))))
		}
	case "oninfointervaloramal":
		iv, ok := arg[intervalInfo](c.Args, 1)
		if n, err := strconv.Atoi(string(iv.ID)); ok && err == nil {
			s.mu.Lock()
			s.intervals[n] = interval{desc: string(iv.Descricao), productive: iv.Produtivo}
			s.mu.Unlock()
		}
	case "onsetintervaloramal":
		iv, _ := arg[intervalInfo](c.Args, 1)
		if n, err := strconv.Atoi(string(iv.ID)); err == nil {
			s.mu.Lock()
			s.interval = n
			known, ok := s.intervals[n]
			switch {
			case ok:
				s.paused = !known.productive
			default:
				s.paused = n != s.d.cfg.Available && !iv.Produtivo
			}
			s.mu.Unlock()
		}
	case "oniniciointervalo":
		s.mu.Lock()
		s.paused = true
		s.mu.Unlock()
	case "onterminointervalo":
		s.mu.Lock()
		s.paused = false
		s.mu.Unlock()
	default:
		s.other(c)
	}
}

func matches(c signalr.Call, names []string) bool {
	for _, n := range names {
		if c.Is(n) {
			return true
		}
	}
	return false
}

// other passes on a hub event the relay has no frame for.
func (s *session) other(c signalr.Call) {
	args, _ := json.Marshal(c.Args)
	s.d.emit(relay.Frame{s.login, VerbEvent, c.Method, string(args)})
}

// callFrame is the R (inbound, Direcao 2) or A event for a call.
func (s *session) callFrame(c chamada, ramal string) relay.Frame {
	if ramal == "" {
		ramal = s.agent.Extension
	}
	if string(c.Direcao) == "2" {
		return relay.ReceptiveCall{Login: s.login, Origin: string(c.Telefone), Dest: ramal}.Frame()
	}
	a := relay.ActiveCall{Login: s.login, Origin: ramal, Dest: string(c.Telefone)}
	if attach, ok := c.dialer(); ok {
		a.ID, a.Description, a.RecordingLink, a.ExternalID = string(c.CodigoCliente), string(c.NomeCliente), string(c.CodigoCampanha), attach
		if a.Dest == "" {
			a.Dest = string(c.TelefoneCliente)
		}
	}
	return a.Frame()
}

// recordingURL is the recording's download address; the access token is in
// it only when RecordingToken is set.
func (s *session) recordingURL(globalID string) string {
	u := s.d.cfg.BaseURL + "/Service/api/Ligacao/Download/" + url.PathEscape(globalID) + "?token_type=bearer"
	if s.d.cfg.RecordingToken {
		s.mu.Lock()
		tok := s.tok
		s.mu.Unlock()
		if tok != nil {
			if t, err := tok.Token(s.d.ctx); err == nil {
				u += "&access_token=" + url.QueryEscape(t)
			}
		}
	}
	return u
}
