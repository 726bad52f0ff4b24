package tactium

import (
	"testing"

	"github.com/ctirelay/ctirelay/relay"
)

func TestAnswers(t *testing.T) {
	t.Parallel()
	cmd := func(login string, v relay.Verb) relay.Command {
		return relay.Command{Frame: relay.Frame{login, string(v)}, Login: login, Verb: v}
	}
	tests := []struct {
		name  string
		cmd   relay.Command
		frame relay.Frame
		want  bool
	}{
		{"OK", cmd("jose", relay.VerbPause), relay.Frame{"jose", "OK"}, true},
		{"ERR", cmd("jose", relay.VerbDial), relay.Frame{"jose", "ERR", "X", "y"}, true},
		{"ERR without a login", cmd("jose", relay.VerbDial), relay.Frame{"", "ERR", "MALFORMED"}, true},
		{"OK without a login", cmd("jose", relay.VerbDial), relay.Frame{"", "OK"}, false},
		{"another agent's OK", cmd("jose", relay.VerbPause), relay.Frame{"maria", "OK"}, false},
		{"login case", cmd("jose", relay.VerbHangUp), relay.Frame{"Jose", "EndCall"}, true},
		{"S answers S", cmd("jose", relay.VerbStatus), relay.Frame{"jose", "S", "1"}, true},
		{"S answers nothing else", cmd("jose", relay.VerbPause), relay.Frame{"jose", "S", "1"}, false},
		{"EndCall answers D", cmd("jose", relay.VerbHangUp), relay.Frame{"jose", "ENDCALL"}, true},
		{"EndCall is an event otherwise", cmd("jose", relay.VerbPause), relay.Frame{"jose", "EndCall"}, false},
		{"A answers AC", cmd("jose", relay.VerbCurrentCall), relay.Frame{"jose", "A", "1"}, true},
		{"R answers AC", cmd("jose", relay.VerbCurrentCall), relay.Frame{"jose", "R", "1"}, true},
		{"A does not answer a dial", cmd("jose", relay.VerbDial), relay.Frame{"jose", "A", "1"}, false},
		{"G never answers", cmd("jose", relay.VerbCurrentCall), relay.Frame{"jose", "G", `c:\x.wav`}, false},
	}
	for _, tt := range tests {
		if got := answers(tt.cmd, tt.frame); got != tt.want {
			t.Errorf("%s: answers(%s, %s) = %v, want %v", tt.name, tt.cmd.Verb, tt.frame, got, tt.want)
		}
	}
}

func TestNormaliseAddr(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"tactium", "tactium:34025"},
		{"10.0.0.5:4000", "10.0.0.5:4000"},
		{"10.0.0.5:", "10.0.0.5:34025"},
		{"::1", "[::1]:34025"},
		{"[::1]:4000", "[::1]:4000"},
		{" tactium ", "tactium:34025"},
	}
	for _, tt := range tests {
		if got, err := normaliseAddr(tt.in); err != nil || got != tt.want {
			t.Errorf("normaliseAddr(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}
