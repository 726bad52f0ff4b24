package relay

import (
	"testing"
)

func TestReplies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		frame Frame
		want  string
	}{
		{name: "ok", frame: OK("jose"), want: "<jose><OK>$"},
		{name: "status logged off", frame: StatusReply("jose", StateLoggedOff), want: "<jose><S><0>$"},
		{name: "status available", frame: StatusReply("jose", StateAvailable), want: "<jose><S><1>$"},
		{name: "status paused", frame: StatusReply("jose", StatePaused), want: "<jose><S><2>$"},
		{name: "status busy", frame: StatusReply("jose", StateBusy), want: "<jose><S><3>$"},
		{name: "status wrap-up", frame: StatusReply("jose", StateWrapUp), want: "<jose><S><4>$"},
		{name: "error", frame: ErrReply("jose", CodeNotLoggedOn, "agent is not logged on"), want: "<jose><ERR><NOT_LOGGED_ON><agent is not logged on>$"},
		{name: "error with closing angle", frame: ErrReply("jose", CodeRejected, "switch: <x> refused"), want: "<jose><ERR><REJECTED><switch: <x) refused>$"},
		{name: "end call", frame: EndCall("Jose"), want: "<Jose><EndCall>$"},
		{name: "recording", frame: Recording("jose", `c:\records\2015\1\16\7016-20150116-163837-P2C05-Station.wav`), want: `<jose><G><c:\records\2015\1\16\7016-20150116-163837-P2C05-Station.wav>$`},
		{name: "recording url", frame: Recording("jose", "https://epbx.example/gravacao?id=1&f=$x"), want: "<jose><G><https://epbx.example/gravacao?id=1&f=$x>$"},
	}
	for _, tt := range tests {
		if got := tt.frame.String(); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestAgentStateString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		state AgentState
		want  string
	}{
		{StateLoggedOff, "logged-off"},
		{StateAvailable, "available"},
		{StatePaused, "paused"},
		{StateBusy, "busy"},
		{StateWrapUp, "wrap-up"},
		{AgentState(5), "state-5"},
		{AgentState(-1), "state--1"},
	}
	for _, tt := range tests {
		if got := tt.state.String(); got != tt.want {
			t.Errorf("AgentState(%d).String() = %q, want %q", int(tt.state), got, tt.want)
		}
	}
}

func TestActiveCallRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		call    ActiveCall
		encoded string
		back    ActiveCall // what parsing the encoded frame gives
	}{
		{
			name:    "all fields",
			call:    ActiveCall{Login: "jose", ID: "15068", OriginDDD: "0", Origin: "9988", DestDDD: "85", Dest: "40050500", Description: "Cliente VIP", RecordingLink: "123.456.789-00", ExternalID: "CD_LTA_ATI"},
			encoded: "<jose><A><15068><0><9988><85><40050500><Cliente VIP><123.456.789-00><CD_LTA_ATI>$",
		},
		{
			name:    "empty fields",
			call:    ActiveCall{Login: "jose", Origin: "7017", Dest: "40050500"},
			encoded: "<jose><A><><><7017><><40050500><><><>$",
		},
		{
			name:    "dialer attach info",
			call:    ActiveCall{Login: "Agente", ID: "15068", OriginDDD: "0", Origin: "9988", DestDDD: "0", Dest: "7017", ExternalID: "dialer.CampaignName=Discador;dialer.ExternalID=15068;dialer.Description=;"},
			encoded: "<Agente><A><15068><0><9988><0><7017><><><dialer.CampaignName=Discador;dialer.ExternalID=15068;dialer.Description=;>$",
		},
		{
			name:    "closing angle becomes paren",
			call:    ActiveCall{Login: "jose", Description: "a>b"},
			encoded: "<jose><A><><><><><><a)b><><>$",
			back:    ActiveCall{Login: "jose", Description: "a)b"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			back := tt.back
			if back == (ActiveCall{}) {
				back = tt.call
			}
			f := tt.call.Frame()
			if f.Verb() != "A" || len(f) != 10 {
				t.Fatalf("Frame() = %q, want 10 fields with verb A", f)
			}
			if got := f.String(); got != tt.encoded {
				t.Fatalf("Frame().String() = %q, want %q", got, tt.encoded)
			}
			if got := ParseActiveCall(f); got != tt.call {
				t.Errorf("ParseActiveCall(Frame()) = %+v, want %+v", got, tt.call)
			}
			parsed, err := Parse(tt.encoded)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.encoded, err)
			}
			if got := ParseActiveCall(parsed); got != back {
				t.Errorf("ParseActiveCall(Parse(%q)) = %+v, want %+v", tt.encoded, got, back)
			}
		})
	}
}

func TestParseActiveCallShortFrames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want ActiveCall
	}{
		{name: "login only", in: "<jose><A>$", want: ActiveCall{Login: "jose"}},
		{name: "id and origin", in: "<jose><A><1><><7017>$", want: ActiveCall{Login: "jose", ID: "1", Origin: "7017"}},
		{
			name: "template with trailing <$",
			in:   "<login><A><id><ddd origem><origem><ddd destino><destino><descrição><cod vínculo gravação><id externo><$",
			want: ActiveCall{Login: "login", ID: "id", OriginDDD: "ddd origem", Origin: "origem", DestDDD: "ddd destino", Dest: "destino", Description: "descrição", RecordingLink: "cod vínculo gravação", ExternalID: "id externo"},
		},
		{
			// The document says this last field is the CD_LTA_ATI attach info
			// (id externo); the stray '>' stands where the recording link was.
			name: "document dialer example",
			in:   "<Agente><A><15068><0><9988><0><7017><>><dialer.CampaignName=Discador;dialer.ExternalID=15068;dialer.ItemID=717a4730-fb1e-4aec-9e8e04a92703fd60;dialer.Description=;dialer.AttachInfo=CD_LTA_ATI;dialer.ExternalData=;>$",
			want: ActiveCall{Login: "Agente", ID: "15068", OriginDDD: "0", Origin: "9988", DestDDD: "0", Dest: "7017", ExternalID: "dialer.CampaignName=Discador;dialer.ExternalID=15068;dialer.ItemID=717a4730-fb1e-4aec-9e8e04a92703fd60;dialer.Description=;dialer.AttachInfo=CD_LTA_ATI;dialer.ExternalData=;"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got := ParseActiveCall(f); got != tt.want {
				t.Fatalf("ParseActiveCall(%q) =\n %+v\nwant\n %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestReceptiveCallRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		call    ReceptiveCall
		encoded string
		back    ReceptiveCall
	}{
		{
			name:    "all fields",
			call:    ReceptiveCall{Login: "jose", ID: "9", OriginDDD: "85", Origin: "40050500", DestDDD: "11", Dest: "7017", Reserved: "---", ExternalID: "x"},
			encoded: "<jose><R><9><85><40050500><11><7017><---><x>$",
		},
		{
			name:    "as the switch sends it",
			call:    ReceptiveCall{Login: "jose", OriginDDD: "85", Origin: "40050500", Dest: "7017"},
			encoded: "<jose><R><><85><40050500><><7017><><>$",
		},
		{
			name:    "utf-8 and dollar",
			call:    ReceptiveCall{Login: "joão", Origin: "0388202122", Dest: "1024", ExternalID: "a$b"},
			encoded: "<joão><R><><><0388202122><><1024><><a$b>$",
		},
		{
			name:    "closing angle becomes paren",
			call:    ReceptiveCall{Login: "jose", Reserved: "-->"},
			encoded: "<jose><R><><><><><><--)><>$",
			back:    ReceptiveCall{Login: "jose", Reserved: "--)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			back := tt.back
			if back == (ReceptiveCall{}) {
				back = tt.call
			}
			f := tt.call.Frame()
			if f.Verb() != "R" || len(f) != 9 {
				t.Fatalf("Frame() = %q, want 9 fields with verb R", f)
			}
			if got := f.String(); got != tt.encoded {
				t.Fatalf("Frame().String() = %q, want %q", got, tt.encoded)
			}
			if got := ParseReceptiveCall(f); got != tt.call {
				t.Errorf("ParseReceptiveCall(Frame()) = %+v, want %+v", got, tt.call)
			}
			parsed, err := Parse(tt.encoded)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.encoded, err)
			}
			if got := ParseReceptiveCall(parsed); got != back {
				t.Errorf("ParseReceptiveCall(Parse(%q)) = %+v, want %+v", tt.encoded, got, back)
			}
		})
	}
	// Missing trailing fields read as empty.
	if got, want := ParseReceptiveCall(Frame{"jose", "R", "", "85", "40050500"}), (ReceptiveCall{Login: "jose", OriginDDD: "85", Origin: "40050500"}); got != want {
		t.Errorf("short R event = %+v, want %+v", got, want)
	}
}
