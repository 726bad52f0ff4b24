package relay

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseCommandAccepts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		frame Frame
		verb  Verb
		want  Frame // the command's frame, when not the one given
	}{
		{name: "logon", frame: Frame{"jose", "L", "ON"}, verb: VerbLogon},
		{name: "logoff", frame: Frame{"jose", "L", "OFF"}, verb: VerbLogon},
		{name: "logon lower case", frame: Frame{"jose", "l", "on"}, verb: VerbLogon},
		{name: "logoff mixed case", frame: Frame{"jose", "L", "Off"}, verb: VerbLogon},
		{name: "admsocket logon", frame: Frame{"ADMSOCKET", "L", "ON"}, verb: VerbLogon},
		{name: "pause with code", frame: Frame{"jose", "P", "ON", "1"}, verb: VerbPause},
		{name: "pause with empty code", frame: Frame{"jose", "P", "ON", ""}, verb: VerbPause},
		{name: "pause lower case", frame: Frame{"jose", "p", "on", "almoço"}, verb: VerbPause},
		{name: "resume", frame: Frame{"jose", "P", "OFF"}, verb: VerbPause},
		{name: "wrap-up end", frame: Frame{"jose", "POS", "OFF"}, verb: VerbWrapUpEnd},
		{name: "wrap-up end lower case", frame: Frame{"jose", "pos", "off"}, verb: VerbWrapUpEnd},
		{name: "status", frame: Frame{"jose", "S"}, verb: VerbStatus},
		{name: "status lower case", frame: Frame{"jose", "s"}, verb: VerbStatus},
		{name: "callback when only", frame: Frame{"jose", "TR", "17/08/2010 15:00"}, verb: VerbCallback},
		{name: "callback when and phone", frame: Frame{"jose", "TR", "17/08/2010 15:00", "40050500"}, verb: VerbCallback},
		{name: "callback empty phone and agent", frame: Frame{"jose", "TR", "17/08/2010 15:00", "", ""}, verb: VerbCallback},
		{name: "callback all", frame: Frame{"jose", "TR", "17/08/2010 15:00", "40050500", "jose"}, verb: VerbCallback},
		{name: "callback lower case", frame: Frame{"jose", "tr", "17/08/2010 15:00", "", "jose"}, verb: VerbCallback},
		{name: "call outcome", frame: Frame{"jose", "C", "S", "EletronicResponse"}, verb: VerbCallOutcome},
		{name: "call outcome lower case", frame: Frame{"jose", "c", "s", "Fax"}, verb: VerbCallOutcome},
		{name: "dial", frame: Frame{"jose", "A", "85", "40050500", ""}, verb: VerbDial},
		{name: "dial local with service", frame: Frame{"jose", "A", "", "40050500", "Serviço_Emprestimo"}, verb: VerbDial},
		{name: "dial without service field", frame: Frame{"jose", "A", "85", "40050500"}, verb: VerbDial},
		{name: "dial lower case", frame: Frame{"jose", "a", "", "40050500", ""}, verb: VerbDial},
		{name: "hang up", frame: Frame{"jose", "D"}, verb: VerbHangUp},
		{name: "current call", frame: Frame{"jose", "AC"}, verb: VerbCurrentCall},
		{name: "current call mixed case", frame: Frame{"jose", "aC"}, verb: VerbCurrentCall},
		{name: "consult", frame: Frame{"jose", "CONS", "", "7002"}, verb: VerbConsult},
		{name: "consult without ddd field", frame: Frame{"jose", "cons", "7002"}, verb: VerbConsult},
		{name: "release consult", frame: Frame{"jose", "CONS", "OFF"}, verb: VerbConsult},
		{name: "transfer", frame: Frame{"jose", "XFER"}, verb: VerbTransfer},
		{name: "conference add", frame: Frame{"jose", "CONF", "ADD", "11", "40050500"}, verb: VerbConference},
		{name: "conference start", frame: Frame{"jose", "CONF", "ON"}, verb: VerbConference},
		{name: "conference cancel", frame: Frame{"jose", "conf", "off"}, verb: VerbConference},
		// One rule everywhere: spaces around the login are not part of it,
		// so the switch gets the login the relay routes by.
		{name: "login trimmed", frame: Frame{" Jose\t", "S"}, verb: VerbStatus, want: Frame{"Jose", "S"}},
		{name: "login trimmed with arguments", frame: Frame{" jose ", "P", "ON", " 1 "}, verb: VerbPause, want: Frame{"jose", "P", "ON", " 1 "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want := tt.want
			if want == nil {
				want = tt.frame
			}
			sent := tt.frame.String()
			cmd, err := ParseCommand(tt.frame)
			if err != nil {
				t.Fatalf("ParseCommand(%q): %v", tt.frame, err)
			}
			if cmd.Verb != tt.verb || cmd.Login != want[0] || !reflect.DeepEqual(cmd.Frame, want) {
				t.Fatalf("ParseCommand(%q) = %+v, want verb %s, login %q and the frame %q", tt.frame, cmd, tt.verb, want[0], want)
			}
			if tt.frame.String() != sent {
				t.Errorf("ParseCommand changed the frame it was given: %q, was %s", tt.frame, sent)
			}
			for i := range 4 {
				if cmd.Arg(i) != tt.frame.Arg(i) {
					t.Errorf("Arg(%d) = %q, want %q", i, cmd.Arg(i), tt.frame.Arg(i))
				}
			}
		})
	}
}

func TestParseCommandRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		frame   Frame
		code    string
		message string
	}{
		{name: "no fields", frame: nil, code: CodeMalformed, message: "the first field (agent login) is empty"},
		{name: "empty login", frame: Frame{"", "S"}, code: CodeMalformed, message: "the first field (agent login) is empty"},
		{name: "only empty login", frame: Frame{""}, code: CodeMalformed, message: "the first field (agent login) is empty"},
		{name: "unclosed field swallowed into the login", frame: Frame{"bad\r\n<maria", "S"}, code: CodeMalformed, message: `the agent login "bad\r\n<maria" contains '<' or a control character`},
		{name: "tab in login", frame: Frame{"jo\tse", "S"}, code: CodeMalformed, message: `the agent login "jo\tse" contains '<' or a control character`},
		{name: "no verb", frame: Frame{"jose"}, code: CodeMalformed, message: "the second field (verb) is missing"},
		{name: "empty verb", frame: Frame{"jose", ""}, code: CodeMalformed, message: "the second field (verb) is missing"},
		{name: "unknown verb", frame: Frame{"jose", "XYZ"}, code: CodeUnknownVerb, message: `unknown verb "XYZ"`},
		{name: "unknown verb as sent", frame: Frame{"jose", "endcall"}, code: CodeUnknownVerb, message: `unknown verb "endcall"`},
		{name: "reply verb", frame: Frame{"jose", "OK"}, code: CodeUnknownVerb, message: `unknown verb "OK"`},
		{name: "event verb R", frame: Frame{"jose", "R", "", "85", "40050500"}, code: CodeUnknownVerb, message: `unknown verb "R"`},
		{name: "event verb G", frame: Frame{"jose", "G", `c:\x.wav`}, code: CodeUnknownVerb, message: `unknown verb "G"`},
		{name: "verb with spaces", frame: Frame{"jose", " S"}, code: CodeUnknownVerb, message: `unknown verb " S"`},
		{name: "logon without argument", frame: Frame{"jose", "L"}, code: CodeBadArgs, message: "L: expected <ON> or <OFF>"},
		{name: "consult without number", frame: Frame{"jose", "CONS", "11", ""}, code: CodeBadArgs, message: "CONS: expected <ddd><phone> or <OFF>"},
		{name: "transfer with argument", frame: Frame{"jose", "XFER", "7002"}, code: CodeBadArgs, message: "XFER: takes no arguments"},
		{name: "conference bad keyword", frame: Frame{"jose", "CONF", "MAYBE"}, code: CodeBadArgs, message: "CONF: expected <ADD><ddd><phone>, <ON> or <OFF>"},
		{name: "logon bad argument", frame: Frame{"jose", "l", "MAYBE"}, code: CodeBadArgs, message: "L: expected <ON> or <OFF>"},
		{name: "logon extra argument", frame: Frame{"jose", "L", "ON", "1"}, code: CodeBadArgs, message: "L: expected <ON> or <OFF>"},
		{name: "pause without argument", frame: Frame{"jose", "P"}, code: CodeBadArgs, message: "P: expected <ON><code> or <OFF>"},
		{name: "pause on without code", frame: Frame{"jose", "P", "ON"}, code: CodeBadArgs, message: "P: expected <ON><code> or <OFF>"},
		{name: "pause off with code", frame: Frame{"jose", "P", "OFF", "1"}, code: CodeBadArgs, message: "P: expected <ON><code> or <OFF>"},
		{name: "pause on with two codes", frame: Frame{"jose", "P", "ON", "1", "2"}, code: CodeBadArgs, message: "P: expected <ON><code> or <OFF>"},
		{name: "pause bad argument", frame: Frame{"jose", "P", "1"}, code: CodeBadArgs, message: "P: expected <ON><code> or <OFF>"},
		{name: "wrap-up end on", frame: Frame{"jose", "POS", "ON"}, code: CodeBadArgs, message: "POS: expected <OFF>"},
		{name: "wrap-up end without argument", frame: Frame{"jose", "pos"}, code: CodeBadArgs, message: "POS: expected <OFF>"},
		{name: "status with argument", frame: Frame{"jose", "S", "1"}, code: CodeBadArgs, message: "S: takes no arguments"},
		{name: "status with empty argument", frame: Frame{"jose", "S", ""}, code: CodeBadArgs, message: "S: takes no arguments"},
		{name: "hang up with argument", frame: Frame{"jose", "D", "now"}, code: CodeBadArgs, message: "D: takes no arguments"},
		{name: "current call with argument", frame: Frame{"jose", "AC", "1"}, code: CodeBadArgs, message: "AC: takes no arguments"},
		{name: "callback without argument", frame: Frame{"jose", "TR"}, code: CodeBadArgs, message: "TR: expected <date/time><phone><agent>"},
		{name: "callback empty when", frame: Frame{"jose", "TR", "", "40050500", "jose"}, code: CodeBadArgs, message: "TR: expected <date/time><phone><agent>"},
		{name: "callback blank when", frame: Frame{"jose", "TR", "  ", "40050500"}, code: CodeBadArgs, message: "TR: expected <date/time><phone><agent>"},
		{name: "callback too many", frame: Frame{"jose", "TR", "17/08/2010 15:00", "", "", ""}, code: CodeBadArgs, message: "TR: expected <date/time><phone><agent>"},
		{name: "call outcome without S", frame: Frame{"jose", "C", "Fax"}, code: CodeBadArgs, message: "C: expected <S><outcome>"},
		{name: "call outcome wrong selector", frame: Frame{"jose", "C", "X", "Fax"}, code: CodeBadArgs, message: "C: expected <S><outcome>"},
		{name: "call outcome empty", frame: Frame{"jose", "C", "S", ""}, code: CodeBadArgs, message: "C: expected <S><outcome>"},
		{name: "call outcome too many", frame: Frame{"jose", "C", "S", "Fax", "x"}, code: CodeBadArgs, message: "C: expected <S><outcome>"},
		{name: "dial without arguments", frame: Frame{"jose", "A"}, code: CodeBadArgs, message: "A: expected <ddd><phone><service>"},
		{name: "dial phone only", frame: Frame{"jose", "A", "40050500"}, code: CodeBadArgs, message: "A: expected <ddd><phone><service>"},
		{name: "dial empty phone", frame: Frame{"jose", "A", "85", "", "x"}, code: CodeBadArgs, message: "A: expected <ddd><phone><service>"},
		{name: "dial blank phone", frame: Frame{"jose", "a", "85", " \t"}, code: CodeBadArgs, message: "A: expected <ddd><phone><service>"},
		{name: "active call event", frame: Frame{"Agente", "A", "15068", "0", "9988", "0", "7017", "", "dialer.ExternalID=15068;"}, code: CodeBadArgs, message: "A: expected <ddd><phone><service>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd, err := ParseCommand(tt.frame)
			if err == nil {
				t.Fatalf("ParseCommand(%q) = %+v, want %s", tt.frame, cmd, tt.code)
			}
			if !reflect.DeepEqual(cmd, Command{}) {
				t.Errorf("ParseCommand(%q) returned %+v with its error", tt.frame, cmd)
			}
			var pe *ProtocolError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *ProtocolError", err)
			}
			if pe.Code != tt.code || pe.Message != tt.message {
				t.Fatalf("ParseCommand(%q) = ERR %s %q, want ERR %s %q", tt.frame, pe.Code, pe.Message, tt.code, tt.message)
			}
			if want := tt.code + ": " + tt.message; err.Error() != want {
				t.Errorf("Error() = %q, want %q", err.Error(), want)
			}
			if IsTransient(err) {
				t.Errorf("a refused command must not be retried")
			}
		})
	}
}

func TestVerbIdempotent(t *testing.T) {
	t.Parallel()
	// Only commands whose repetition cannot hurt are retried after a relay
	// crash; anything that may dial, schedule or change a call is in doubt.
	tests := []struct {
		verb Verb
		want bool
	}{
		{VerbLogon, true},
		{VerbPause, true},
		{VerbWrapUpEnd, true},
		{VerbStatus, true},
		{VerbCurrentCall, true},
		{VerbCallback, false},
		{VerbCallOutcome, false},
		{VerbDial, false},
		{VerbHangUp, false},
		{Verb("XYZ"), false},
		{Verb(""), false},
		{Verb("s"), false}, // verbs are upper case once parsed
	}
	for _, tt := range tests {
		if got := tt.verb.Idempotent(); got != tt.want {
			t.Errorf("Verb(%q).Idempotent() = %t, want %t", tt.verb, got, tt.want)
		}
	}
}

func TestVerbsInDocumentOrder(t *testing.T) {
	t.Parallel()
	want := []Verb{"L", "P", "POS", "S", "TR", "C", "A", "D", "AC"}
	if !reflect.DeepEqual(Verbs, want) {
		t.Fatalf("Verbs = %q, want %q", Verbs, want)
	}
	// Every listed verb is one ParseCommand knows.
	for _, v := range Verbs {
		_, err := ParseCommand(Frame{"jose", string(v)})
		var pe *ProtocolError
		if errors.As(err, &pe) && pe.Code == CodeUnknownVerb {
			t.Errorf("verb %s is listed but unknown to ParseCommand", v)
		}
	}
	if AdminLogin != "ADMSOCKET" {
		t.Errorf("AdminLogin = %q", AdminLogin)
	}
}
