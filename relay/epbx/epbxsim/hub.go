// Package epbxsim serves the simulated switch (relay/sim) as an EPBX
// AtendimentoHub: the hub methods become the switch's commands and the
// switch's events become the hub's onChamada, onDesliga,
// onChamadaGlobalId… calls, so the EPBX driver can run, and an integrator
// can try EPBX mode, with no PBX. Consult, transfer and conference become
// the switch's extension verbs CONS, XFER and CONF.
//
// EPBX user names are the simulated switch's agent logins.
package epbxsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/epbx/epbxfake"
	"github.com/ctirelay/ctirelay/relay/sim"
)

// Intervals the simulated hub offers every extension; 1 is the productive
// one (available), the others pauses. P ON <code> with any other number
// pauses with that code.
var Intervals = []Interval{
	{ID: 1, Descricao: "Disponível", Produtivo: true},
	{ID: 2, Descricao: "Pausa", Produtivo: false},
	{ID: 3, Descricao: "Almoço", Produtivo: false},
	{ID: 4, Descricao: "Banheiro", Produtivo: false},
}

// Interval is the hub's interval info (onInfoIntervaloRamal).
type Interval struct {
	ID        int    `json:"RamalStatusDetalheId"`
	Descricao string `json:"Descricao"`
	Produtivo bool   `json:"Produtivo"`
}

// NotLoggedOn is the hub's error for a call before Iniciar.
const NotLoggedOn = "Ramal não logado no Atendimento"

// Hub is an epbxfake.Hub over a simulated switch.
type Hub struct {
	sw *sim.Switch

	mu    sync.Mutex
	conns map[string]map[*epbxfake.Conn]bool // logged-on connections by login
	calls map[string]*chamada                // each login's current call
	// transferring marks the logins whose XFER is under way, so the
	// EndCall it causes is announced as a transfer.
	transferring map[string]bool
	globals      int
	unsub        func()
	done         chan struct{}
}

// chamada is the hub's ChamadaInfo.
type chamada struct {
	CanalID         string `json:"CanalId"`
	Telefone        string `json:"Telefone"`
	TipoDiscagem    int    `json:"TipoDiscagem"`
	GlobalID        string `json:"GlobalId"`
	Direcao         int    `json:"Direcao"`
	CodigoCliente   string `json:"CodigoCliente,omitempty"`
	NomeCliente     string `json:"NomeCliente,omitempty"`
	CodigoCampanha  string `json:"CodigoCampanha,omitempty"`
	TelefoneCliente string `json:"TelefoneCliente,omitempty"`
	InfoAdicional1  string `json:"InfoAdicional1,omitempty"`
}

type ramal struct {
	Ramal string `json:"Ramal"`
}

// New builds a hub over sw; Start subscribes to its events.
func New(sw *sim.Switch) *Hub {
	return &Hub{sw: sw, conns: map[string]map[*epbxfake.Conn]bool{}, calls: map[string]*chamada{}, transferring: map[string]bool{}}
}

// Start subscribes to the switch's events (the switch is started by its
// owner) and forwards them until Stop.
func (h *Hub) Start() {
	events, unsub := h.sw.Subscribe(256)
	h.unsub, h.done = unsub, make(chan struct{})
	go func() {
		defer close(h.done)
		for f := range events {
			h.event(f)
		}
	}()
}

// Stop ends the forwarding.
func (h *Hub) Stop() {
	if h.unsub != nil {
		h.unsub()
		<-h.done
	}
}

func (h *Hub) ramal(login string) ramal {
	ext, _ := h.sw.Extension(login)
	return ramal{Ramal: ext}
}

// Connected does nothing: a connection counts once its Iniciar succeeds.
func (h *Hub) Connected(c *epbxfake.Conn) {}

// Disconnected forgets a connection that has gone. The hub's state went
// with it: an agent with no started connection left is logged off at the
// switch, as an EPBX forgets the extension of a connection that died (so
// the relay taking over from a dead one must log its agents on again).
func (h *Hub) Disconnected(c *epbxfake.Conn) {
	h.mu.Lock()
	_, started := h.conns[c.User][c]
	delete(h.conns[c.User], c)
	last := started && len(h.conns[c.User]) == 0
	if last {
		delete(h.calls, c.User)
	}
	h.mu.Unlock()
	if last {
		_, _ = h.handle(context.Background(), c.User, "<"+c.User+"><L><OFF>$")
	}
}

func (h *Hub) handle(ctx context.Context, login, frame string) ([]relay.Frame, error) {
	f, err := relay.Parse(frame)
	if err != nil {
		return nil, err
	}
	cmd, err := relay.ParseCommand(f)
	if err != nil {
		return nil, err
	}
	return h.sw.Handle(ctx, cmd)
}

func hubErr(err error) error {
	var pe *relay.ProtocolError
	if !errors.As(err, &pe) {
		pe = nil
	}
	if pe != nil && pe.Code == relay.CodeNotLoggedOn {
		return &epbxfake.HubException{Message: NotLoggedOn}
	}
	if pe != nil {
		return &epbxfake.HubException{Message: pe.Message, Data: map[string]string{"code": pe.Code}}
	}
	return err
}

func str(args []json.RawMessage, i int) string {
	if i >= len(args) {
		return ""
	}
	var s string
	if json.Unmarshal(args[i], &s) == nil {
		return s
	}
	return strings.Trim(string(args[i]), `"`)
}

// Invoke runs a hub method for the connection's user.
func (h *Hub) Invoke(ctx context.Context, c *epbxfake.Conn, method string, args []json.RawMessage) (any, error) {
	login := c.User
	m := strings.ToLower(method)
	if m == "iniciar" {
		if _, err := h.handle(ctx, login, "<"+login+"><L><ON>$"); err != nil {
			c.Send("onLogadoErro", h.ramal(login), err.Error())
			return nil, nil
		}
		h.mu.Lock()
		if h.conns[login] == nil {
			h.conns[login] = map[*epbxfake.Conn]bool{}
		}
		h.conns[login][c] = true
		h.mu.Unlock()
		c.Set("iniciado", true)
		r := h.ramal(login)
		for _, iv := range Intervals {
			c.Send("onInfoIntervaloRamal", r, iv)
		}
		state, _ := h.sw.Agent(login)
		cur := Intervals[0]
		if state == relay.StatePaused {
			cur = Intervals[1]
		}
		c.Send("onSetIntervaloRamal", r, cur)
		c.Send("onLogado", r)
		return nil, nil
	}
	if c.Get("iniciado") != true {
		return nil, &epbxfake.HubException{Message: NotLoggedOn}
	}
	r := h.ramal(login)
	switch m {
	case "terminar":
		if _, err := h.handle(ctx, login, "<"+login+"><L><OFF>$"); err != nil {
			return nil, hubErr(err)
		}
		c.Set("iniciado", false)
		h.mu.Lock()
		delete(h.conns[login], c)
		delete(h.calls, login)
		h.mu.Unlock()
		c.Send("onDeslogado", r)
		return nil, nil
	case "discar":
		numero, tipo := str(args, 0), str(args, 1)
		if _, err := h.handle(ctx, login, "<"+login+"><A><><"+numero+"><>$"); err != nil {
			c.Send("onDiscaErro", r, err.Error())
			return nil, nil
		}
		t, _ := strconv.Atoi(tipo)
		c.Send("onDisca", r, chamada{Telefone: numero, TipoDiscagem: t, Direcao: 1})
		return nil, nil
	case "desligar":
		h.mu.Lock()
		ch := h.calls[login]
		delete(h.calls, login)
		h.mu.Unlock()
		if _, err := h.handle(ctx, login, "<"+login+"><D>$"); err != nil {
			return nil, hubErr(err)
		}
		if ch == nil {
			ch = &chamada{}
		}
		c.Send("onDesliga", r, ch)
		return nil, nil
	case "alterarintervalotipo":
		id, _ := strconv.Atoi(str(args, 0))
		iv := Interval{ID: id, Descricao: "Pausa " + strconv.Itoa(id)}
		for _, x := range Intervals {
			if x.ID == id {
				iv = x
			}
		}
		frame := "<" + login + "><P><ON><" + strconv.Itoa(id) + ">$"
		if iv.Produtivo {
			frame = "<" + login + "><P><OFF>$"
		}
		if _, err := h.handle(ctx, login, frame); err != nil {
			return nil, hubErr(err)
		}
		c.Send("onSetIntervaloRamal", r, iv)
		if iv.Produtivo {
			c.Send("onTerminoIntervalo", r, iv)
		} else {
			c.Send("onInicioIntervalo", r, iv)
		}
		return nil, nil
	case "consultar", "liberarconsulta", "transferir", "conferenciaadicionar", "conferenciainiciar", "conferenciacancelar":
		return h.extraCall(ctx, c, login, m, args)
	}
	return nil, fmt.Errorf("'%s' method could not be resolved", method)
}

// extraCall maps consult, transfer and conference to the switch's CONS,
// XFER and CONF, which keep their state on the call. A transfer ends the
// agent's call at the switch; its EndCall event becomes
// onChamadaTransferida then onDesliga (see event).
func (h *Hub) extraCall(ctx context.Context, c *epbxfake.Conn, login, m string, args []json.RawMessage) (any, error) {
	var frame string
	switch m {
	case "consultar":
		frame = "<" + login + "><CONS><><" + str(args, 0) + ">$"
	case "liberarconsulta":
		frame = "<" + login + "><CONS><OFF>$"
	case "transferir":
		frame = "<" + login + "><XFER>$"
		h.mu.Lock()
		h.transferring[login] = true
		h.mu.Unlock()
	case "conferenciaadicionar":
		frame = "<" + login + "><CONF><ADD><><" + str(args, 0) + ">$"
	case "conferenciainiciar":
		frame = "<" + login + "><CONF><ON>$"
	case "conferenciacancelar":
		frame = "<" + login + "><CONF><OFF>$"
	}
	_, err := h.handle(ctx, login, frame)
	if err == nil {
		return nil, nil
	}
	h.mu.Lock()
	delete(h.transferring, login)
	h.mu.Unlock()
	if m == "conferenciainiciar" {
		// EPBX answers the invocation and reports the failure as an event.
		c.Send("onConferenciaErro", h.ramal(login), hubErr(err).Error())
		return nil, nil
	}
	return nil, hubErr(err)
}

// event turns one switch event into hub calls to the agent's connections.
func (h *Hub) event(f relay.Frame) {
	login := f.Login()
	h.mu.Lock()
	var conns []*epbxfake.Conn
	for c := range h.conns[login] {
		conns = append(conns, c)
	}
	ch := h.calls[login]
	var method string
	var args []any
	r := h.ramal(login)
	switch strings.ToUpper(f.Verb()) {
	case "A":
		a := relay.ParseActiveCall(f)
		_, call := h.sw.Agent(login)
		ch = &chamada{Telefone: a.DestDDD + a.Dest, Direcao: 1, TipoDiscagem: 1}
		if call != nil {
			ch.CanalID = strconv.FormatInt(call.ID, 10)
			if call.Kind == sim.Dialer {
				ch.CodigoCliente, ch.NomeCliente, ch.CodigoCampanha, ch.TelefoneCliente = a.ID, a.Description, call.Service, a.DestDDD+a.Dest
				ch.InfoAdicional1 = a.ExternalID
			}
		}
		h.calls[login] = ch
		method, args = "onChamada", []any{r, ch}
	case "R":
		rc := relay.ParseReceptiveCall(f)
		ch = &chamada{Telefone: rc.OriginDDD + rc.Origin, Direcao: 2}
		if _, call := h.sw.Agent(login); call != nil {
			ch.CanalID = strconv.FormatInt(call.ID, 10)
		}
		h.calls[login] = ch
		method, args = "onChamada", []any{r, ch}
	case "G":
		h.globals++
		g := fmt.Sprintf("SIM-%08d", h.globals)
		if ch == nil {
			ch = &chamada{}
		}
		ch.GlobalID = g
		method, args = "onChamadaGlobalId", []any{r, ch, g}
	case "ENDCALL":
		if ch == nil {
			ch = &chamada{}
		}
		delete(h.calls, login)
		transferred := h.transferring[login]
		delete(h.transferring, login)
		method, args = "onDesliga", []any{r, ch}
		if transferred {
			h.mu.Unlock()
			for _, c := range conns {
				c.Send("onChamadaTransferida", r, ch)
			}
			h.mu.Lock()
		}
	default:
		h.mu.Unlock()
		return
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.Send(method, args...)
	}
}
