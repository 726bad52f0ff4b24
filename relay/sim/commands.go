package sim

import (
	"strings"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// Outcomes accepted by C S, spelt as in the Tactium document.
var outcomes = map[string]bool{"BloquedPhone": true, "OutOfArea": true, "EletronicResponse": true, "Fax": true}

// whenLayout is TR's dd/mm/yyyy hh:mm (one-digit day, month or hour allowed).
const whenLayout = "2/1/2006 15:04"

// applyLocked carries out one command at time now. Arguments are checked
// before state, so a malformed command is reported as such in any state.
func (s *Switch) applyLocked(cmd relay.Command, now time.Time) ([]relay.Frame, error) {
	login := cmd.Login
	if login == "" {
		login = cmd.Frame.Login()
	}
	verb := relay.Verb(strings.ToUpper(string(cmd.Verb)))
	upper := func(i int) string { return strings.ToUpper(strings.TrimSpace(cmd.Arg(i))) }
	ok := []relay.Frame{relay.OK(login)}

	if login == relay.AdminLogin {
		return s.adminLocked(verb, upper(0))
	}
	a := s.agents[login]
	switch verb {
	case relay.VerbStatus:
		state := relay.StateLoggedOff
		if a != nil {
			state = a.state
		}
		return []relay.Frame{relay.StatusReply(login, state)}, nil
	case relay.VerbLogon:
		if upper(0) == "ON" {
			a = s.agentLocked(login, true)
			if a.state == relay.StateLoggedOff {
				s.log.Info("agent logged on", "agent", login, "extension", a.ext)
				s.availableLocked(a, now)
			}
			return ok, nil
		}
		if upper(0) != "OFF" {
			return nil, relay.Errorf(relay.CodeBadArgs, "L: expected <ON> or <OFF>")
		}
	}
	if a == nil || a.state == relay.StateLoggedOff {
		return nil, relay.Errorf(relay.CodeNotLoggedOn, "agent %s is not logged on", login)
	}

	switch verb {
	case relay.VerbLogon: // OFF
		s.logoffLocked(a)
		s.log.Info("agent logged off", "agent", login)
		return ok, nil

	case relay.VerbPause:
		switch upper(0) {
		case "ON":
			if a.state == relay.StateBusy {
				return nil, relay.Errorf(relay.CodeInvalidState, "agent %s is on a call; pause from wrap-up", login)
			}
			s.pauseLocked(a, cmd.Arg(1))
		case "OFF":
			switch a.state {
			case relay.StateBusy:
				return nil, relay.Errorf(relay.CodeInvalidState, "agent %s is on a call", login)
			case relay.StatePaused, relay.StateWrapUp:
				s.availableLocked(a, now)
			}
		default:
			return nil, relay.Errorf(relay.CodeBadArgs, "P: expected <ON><code> or <OFF>")
		}
		return ok, nil

	case relay.VerbWrapUpEnd:
		if upper(0) != "OFF" {
			return nil, relay.Errorf(relay.CodeBadArgs, "POS: expected <OFF>")
		}
		if a.state != relay.StateWrapUp {
			return nil, relay.Errorf(relay.CodeInvalidState, "agent %s is not in wrap-up (state %d)", login, a.state)
		}
		s.availableLocked(a, now)
		return ok, nil

	case relay.VerbCallback:
		when, err := time.ParseInLocation(whenLayout, strings.TrimSpace(cmd.Arg(0)), now.Location())
		if err != nil {
			return nil, relay.Errorf(relay.CodeBadArgs, "TR: unreadable date/time %q, expected dd/mm/yyyy hh:mm", cmd.Arg(0))
		}
		phone := strings.TrimSpace(cmd.Arg(1))
		if phone != "" && !isDigits(phone) {
			return nil, relay.Errorf(relay.CodeBadArgs, "TR: phone %q is not a number", phone)
		}
		c := a.dialerCall()
		if c == nil {
			return nil, relay.Errorf(relay.CodeInvalidState, "TR is only valid for a call from the dialer")
		}
		s.scheduleCallbackLocked(c, when, phone, strings.TrimSpace(cmd.Arg(2)), now)
		if a.state == relay.StateWrapUp {
			s.availableLocked(a, now) // the document: TR in wrap-up resumes the agent
		}
		return ok, nil

	case relay.VerbCallOutcome:
		outcome := cmd.Arg(1)
		if upper(0) != "S" || !outcomes[outcome] {
			return nil, relay.Errorf(relay.CodeBadArgs, "C S: unknown outcome %q (BloquedPhone, OutOfArea, EletronicResponse or Fax)", outcome)
		}
		c := a.dialerCall()
		if c == nil {
			return nil, relay.Errorf(relay.CodeInvalidState, "C S is only valid for a call from the dialer")
		}
		c.Outcome = outcome
		return ok, nil

	case relay.VerbDial:
		ddd, phone, service := strings.TrimSpace(cmd.Arg(0)), strings.TrimSpace(cmd.Arg(1)), cmd.Arg(2)
		if (ddd != "" && (!isDigits(ddd) || len(ddd) > 3)) || !isDigits(phone) || len(phone) > 15 {
			return nil, relay.Errorf(relay.CodeBadArgs, "A: cannot dial %q %q", cmd.Arg(0), cmd.Arg(1))
		}
		switch a.state {
		case relay.StateBusy:
			return nil, relay.Errorf(relay.CodeInvalidState, "agent %s is already on a call", login)
		case relay.StatePaused:
			return nil, relay.Errorf(relay.CodeInvalidState, "agent %s is paused", login)
		}
		s.leaveWrapUpLocked(a)
		s.dialLocked(a, ddd, phone, service, now)
		return ok, nil

	case relay.VerbHangUp:
		if a.call == nil {
			return nil, relay.Errorf(relay.CodeInvalidState, "no current call")
		}
		s.hangUpLocked(a, now, false)
		return []relay.Frame{relay.EndCall(login)}, nil

	case relay.VerbConsult, relay.VerbTransfer, relay.VerbConference:
		return s.extensionLocked(a, verb, cmd, now)

	case relay.VerbCurrentCall:
		if a.call == nil {
			return nil, relay.Errorf(relay.CodeInvalidState, "no current call")
		}
		return []relay.Frame{a.call.snapshot().Frame}, nil
	}
	return nil, relay.Errorf(relay.CodeUnsupported, "the simulated switch cannot do %s", cmd.Verb)
}

// extensionLocked carries out the extension verbs (CONS, XFER, CONF), which
// act on an answered call in progress. The Tactium frame format has no
// events for consult or conference, so only a transfer shows in the event
// stream: the agent's call ends (EndCall) and wrap-up starts, as after a
// hang-up by the other side.
func (s *Switch) extensionLocked(a *agent, verb relay.Verb, cmd relay.Command, now time.Time) ([]relay.Frame, error) {
	login := a.login
	args := cmd.Frame.Args()
	first := strings.ToUpper(strings.TrimSpace(cmd.Arg(0)))
	// number reads <ddd><phone> or <phone> from args, as A does.
	number := func(args []string) (string, error) {
		ddd, phone := "", ""
		switch len(args) {
		case 1:
			phone = strings.TrimSpace(args[0])
		case 2:
			ddd, phone = strings.TrimSpace(args[0]), strings.TrimSpace(args[1])
		}
		if (ddd != "" && (!isDigits(ddd) || len(ddd) > 3)) || !isDigits(phone) || len(phone) > 15 {
			return "", relay.Errorf(relay.CodeBadArgs, "%s: cannot call %q", verb, strings.Join(args, " "))
		}
		return ddd + phone, nil
	}
	var party string
	switch {
	case verb == relay.VerbConsult && first != "OFF", verb == relay.VerbConference && first == "ADD":
		from := args
		if verb == relay.VerbConference {
			from = args[1:]
		}
		var err error
		if party, err = number(from); err != nil {
			return nil, err
		}
	}
	c := a.call
	if c == nil || !c.Answered {
		return nil, relay.Errorf(relay.CodeInvalidState, "agent %s has no answered call", login)
	}
	ok := []relay.Frame{relay.OK(login)}
	switch verb {
	case relay.VerbConsult:
		if first == "OFF" {
			if c.Consult == "" {
				return nil, relay.Errorf(relay.CodeInvalidState, "agent %s is not consulting", login)
			}
			c.Consult = ""
			return ok, nil
		}
		if c.Consult != "" {
			return nil, relay.Errorf(relay.CodeInvalidState, "agent %s is already consulting %s", login, c.Consult)
		}
		c.Consult = party
		return ok, nil
	case relay.VerbTransfer:
		if c.Consult == "" {
			return nil, relay.Errorf(relay.CodeInvalidState, "agent %s is not consulting: CONS first", login)
		}
		s.stats.Transferred++
		s.hangUpLocked(a, now, true)
		return ok, nil
	}
	switch first { // CONF
	case "ADD":
		if c.Conference {
			return nil, relay.Errorf(relay.CodeInvalidState, "agent %s's conference has started", login)
		}
		c.Participants = append(c.Participants, party)
	case "ON":
		if len(c.Participants) == 0 {
			return nil, relay.Errorf(relay.CodeRejected, "no participant added (CONF ADD first)")
		}
		if !c.Conference {
			s.stats.Conferences++
		}
		c.Conference = true
	case "OFF":
		c.Participants, c.Conference = nil, false
	}
	return ok, nil
}

// adminLocked answers the monitoring login, which is not an agent.
func (s *Switch) adminLocked(verb relay.Verb, arg string) ([]relay.Frame, error) {
	switch {
	case verb == relay.VerbLogon && (arg == "ON" || arg == "OFF"):
		return []relay.Frame{relay.OK(relay.AdminLogin)}, nil
	case verb == relay.VerbStatus:
		return []relay.Frame{relay.StatusReply(relay.AdminLogin, relay.StateLoggedOff)}, nil
	}
	return nil, relay.Errorf(relay.CodeRejected, "%s is the monitoring login, not an agent", relay.AdminLogin)
}
