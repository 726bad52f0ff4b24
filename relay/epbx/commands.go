package epbx

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/ctirelay/ctirelay/relay"
)

// The extension verbs (consult, transfer, conference) EPBX carries out.
const (
	VerbConsult    = relay.VerbConsult
	VerbTransfer   = relay.VerbTransfer
	VerbConference = relay.VerbConference
)

func isExtension(v relay.Verb) bool { return slices.Contains(relay.ExtensionVerbs, v) }

// execute carries out cmd for the session's agent.
func (s *session) execute(ctx context.Context, cmd relay.Command) ([]relay.Frame, error) {
	s.cmdMu.Lock()
	defer s.cmdMu.Unlock()
	s.catchUp(ctx)
	login := cmd.Login
	ok := []relay.Frame{relay.OK(login)}
	arg := func(i int) string { return strings.ToUpper(strings.TrimSpace(cmd.Arg(i))) }

	switch cmd.Verb {
	case relay.VerbStatus:
		return []relay.Frame{relay.StatusReply(login, s.state())}, nil
	case relay.VerbCurrentCall:
		s.mu.Lock()
		c := s.call
		s.mu.Unlock()
		if c == nil {
			return nil, relay.Errorf(relay.CodeInvalidState, "no current call")
		}
		return []relay.Frame{relabel(c.frame, login)}, nil
	case relay.VerbLogon:
		if arg(0) == "OFF" {
			return s.logoff(ctx, login)
		}
		if err := s.connect(ctx); err != nil {
			return nil, err
		}
		if s.state() != relay.StateLoggedOff {
			return ok, nil
		}
		if err := s.logon(ctx); err != nil {
			return nil, err
		}
		s.record(ctx, stateOn, stateReady)
		return ok, nil
	}

	if err := s.connect(ctx); err != nil {
		return nil, err
	}
	switch cmd.Verb {
	case relay.VerbDial:
		numero, tipo := s.number(cmd.Arg(0), cmd.Arg(1))
		return s.confirmed(ctx, login, []string{"onDisca", "onChamada", "onAtendido"}, "onDiscaErro", "Discar", numero, tipo)

	case relay.VerbHangUp:
		s.mu.Lock()
		if s.call != nil {
			s.hungUp = s.call.canal
		}
		s.mu.Unlock()
		if _, err := s.callHub(ctx, "Desligar"); err != nil {
			s.mu.Lock()
			s.hungUp = ""
			s.mu.Unlock()
			return nil, err
		}
		s.mu.Lock()
		s.call = nil
		s.mu.Unlock()
		return []relay.Frame{relay.EndCall(login)}, nil

	case relay.VerbPause:
		var id int
		var err error
		if arg(0) == "ON" {
			id, err = s.pauseInterval(cmd.Arg(1))
		} else {
			id, err = s.availableInterval()
		}
		if err != nil {
			return nil, err
		}
		if _, err := s.callHub(ctx, "AlterarIntervaloTipo", id); err != nil {
			return nil, err
		}
		s.mu.Lock()
		s.paused, s.interval = arg(0) == "ON", id
		s.mu.Unlock()
		if arg(0) == "ON" {
			s.record(ctx, pauseName(id))
		} else {
			s.record(ctx, stateReady)
		}
		return ok, nil

	case VerbConsult:
		if arg(0) == "OFF" && len(cmd.Frame.Args()) == 1 {
			return s.plain(ctx, login, "LiberarConsulta")
		}
		numero, tipo := s.number(cmd.Arg(0), cmd.Arg(1))
		if numero == "" {
			return nil, relay.Errorf(relay.CodeBadArgs, "CONS: expected <ddd><phone> or <OFF>")
		}
		return s.plain(ctx, login, "Consultar", numero, tipo)

	case VerbTransfer:
		return s.plain(ctx, login, "Transferir")

	case VerbConference:
		switch arg(0) {
		case "ADD":
			numero, tipo := s.number(cmd.Arg(1), cmd.Arg(2))
			if numero == "" {
				return nil, relay.Errorf(relay.CodeBadArgs, "CONF ADD: expected <ddd><phone>")
			}
			return s.plain(ctx, login, "ConferenciaAdicionar", numero, tipo)
		case "ON":
			return s.confirmed(ctx, login, nil, "onConferenciaErro", "ConferenciaIniciar")
		case "OFF":
			return s.plain(ctx, login, "ConferenciaCancelar")
		}
		return nil, relay.Errorf(relay.CodeBadArgs, "CONF: expected <ADD><ddd><phone>, <ON> or <OFF>")
	}
	return nil, relay.Errorf(relay.CodeUnsupported, "EPBX cannot do %s", cmd.Verb)
}

func (s *session) plain(ctx context.Context, login, method string, args ...any) ([]relay.Frame, error) {
	if _, err := s.callHub(ctx, method, args...); err != nil {
		return nil, err
	}
	return []relay.Frame{relay.OK(login)}, nil
}

// confirmed invokes a method whose failure the hub may report as an event
// after the result (onDiscaErro, onConferenciaErro): it waits Confirm for
// one of ok (or the error event) and answers OK when none comes.
func (s *session) confirmed(ctx context.Context, login string, ok []string, fail, method string, args ...any) ([]relay.Frame, error) {
	w := s.expect(ok, fail)
	if _, err := s.callHub(ctx, method, args...); err != nil {
		s.forget(w)
		return nil, err
	}
	// The hub has accepted the call: a command context ending while we
	// wait for the error event does not make it in doubt.
	c, got, _ := s.await(ctx, w, true)
	if got && w.failed(c) {
		return nil, relay.Errorf(relay.CodeRejected, "%s: %s", method, describe(c.Args, 1))
	}
	return []relay.Frame{relay.OK(login)}, nil
}

func (s *session) logoff(ctx context.Context, login string) ([]relay.Frame, error) {
	s.mu.Lock()
	connected := s.sc != nil
	s.mu.Unlock()
	if !connected {
		return []relay.Frame{relay.OK(login)}, nil
	}
	// Not logged on at EPBX already is logged off: close the connection.
	_, err := s.invoke(ctx, "Terminar")
	var pe *relay.ProtocolError
	if err != nil && !(errors.As(err, &pe) && pe.Code == relay.CodeNotLoggedOn) {
		return nil, err
	}
	s.disconnect()
	s.record(ctx, stateOff)
	s.d.log.Info("epbx agent logged off", "agent", login)
	return []relay.Frame{relay.OK(login)}, nil
}

// number joins the area code and number and decides Discar's tipo: an
// extension (2) when there is no area code and few digits, else external (1).
func (s *session) number(ddd, phone string) (string, int) {
	ddd, phone = strings.TrimSpace(ddd), strings.TrimSpace(phone)
	if ddd == "" && phone != "" && len(phone) <= s.d.cfg.ExtensionDigits {
		return phone, 2
	}
	return ddd + phone, 1
}

// pauseInterval maps a P ON code to an interval id: the configured map,
// then the hub's intervals by id or description.
func (s *session) pauseInterval(code string) (int, error) {
	code = strings.TrimSpace(code)
	if id, ok := s.d.cfg.Pauses[code]; ok {
		return id, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if n, err := strconv.Atoi(code); err == nil {
		if _, ok := s.intervals[n]; ok || len(s.intervals) == 0 {
			return n, nil
		}
	}
	for id, iv := range s.intervals {
		if strings.EqualFold(iv.desc, code) {
			return id, nil
		}
	}
	return 0, relay.Errorf(relay.CodeBadArgs, "P ON: pause code %q is neither in switch.epbx.pauses nor among the agent's intervals", code)
}

func (s *session) availableInterval() (int, error) {
	if s.d.cfg.Available != 0 {
		return s.d.cfg.Available, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	best := 0
	for id, iv := range s.intervals {
		if iv.productive && (best == 0 || id < best) {
			best = id
		}
	}
	if best == 0 {
		return 0, relay.Errorf(relay.CodeInvalidState, "P OFF: no productive interval known (set switch.epbx.available)")
	}
	return best, nil
}

// relabel writes a tracked frame with the login as the command spelled it.
func relabel(f relay.Frame, login string) relay.Frame {
	out := append(relay.Frame{}, f...)
	out[0] = login
	return out
}
