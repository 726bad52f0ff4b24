package tactium_test

import (
	"testing"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/tactium"
)

func TestParseCharset(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, want string
		ok         bool
	}{
		{"", "utf-8", true},
		{"UTF-8", "utf-8", true},
		{"utf8", "utf-8", true},
		{"windows-1252", "windows-1252", true},
		{" CP1252 ", "windows-1252", true},
		{"latin1", "", false},
	}
	for _, tt := range tests {
		c, err := tactium.ParseCharset(tt.name)
		if (err == nil) != tt.ok || (tt.ok && c.String() != tt.want) {
			t.Errorf("ParseCharset(%q) = %v, %v; want %s ok=%v", tt.name, c, err, tt.want, tt.ok)
		}
	}
}

func TestCharsetWire(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		charset tactium.Charset
		frame   relay.Frame
		wire    string
	}{
		{"utf-8 as is", tactium.UTF8, relay.Frame{"jose", "A", "", "40050500", "Serviço"}, "<jose><A><><40050500><Serviço>$"},
		{"windows-1252", tactium.Windows1252, relay.Frame{"josé", "A", "", "40050500", "Serviço_Cobrança"}, "<jos\xe9><A><><40050500><Servi\xe7o_Cobran\xe7a>$"},
		{"euro sign", tactium.Windows1252, relay.Frame{"jose", "G", "€"}, "<jose><G><\x80>$"},
		{"ascii untouched", tactium.Windows1252, relay.Frame{"jose", "OK"}, "<jose><OK>$"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := string(tt.charset.AppendFrame(nil, tt.frame)); got != tt.wire {
				t.Fatalf("AppendFrame = %q, want %q", got, tt.wire)
			}
			read, err := relay.Parse(tt.wire)
			if err != nil {
				t.Fatal(err)
			}
			back, err := tt.charset.DecodeFrame(read)
			if err != nil || back.String() != tt.frame.String() {
				t.Fatalf("DecodeFrame = %q, %v; want %q", back, err, tt.frame)
			}
		})
	}
	// What Windows-1252 cannot carry becomes '?'; invalid UTF-8 is refused.
	if got := string(tactium.Windows1252.AppendFrame(nil, relay.Frame{"jose", "G", "✓ ok"})); got != "<jose><G><? ok>$" {
		t.Fatalf("unencodable = %q", got)
	}
	if _, err := tactium.UTF8.DecodeFrame(relay.Frame{"jose", "A", "Servi\xe7o"}); err == nil {
		t.Fatal("invalid UTF-8 accepted")
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	for _, cfg := range []tactium.Config{
		{},
		{Addr: ":34025"},
		{Addr: "switch", AdminSecret: "a<b"},
		{Addr: "switch", ReplyTimeout: -1},
	} {
		if _, err := tactium.New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
}
