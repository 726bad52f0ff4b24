package relay_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ctirelay/ctirelay/relay"
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
		{"windows1252", "windows-1252", true},
		{"Win1252", "windows-1252", true},
		{"latin1", "", false},
		{"iso-8859-1", "", false},
	}
	for _, tt := range tests {
		c, err := relay.ParseCharset(tt.name)
		if (err == nil) != tt.ok || (tt.ok && c.String() != tt.want) {
			t.Errorf("ParseCharset(%q) = %v, %v; want %s ok=%v", tt.name, c, err, tt.want, tt.ok)
		}
	}
}

func TestCharsetWire(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		charset relay.Charset
		frame   relay.Frame
		wire    string
	}{
		{"utf-8 as is", relay.UTF8, relay.Frame{"jose", "A", "", "40050500", "Serviço"}, "<jose><A><><40050500><Serviço>$"},
		{"windows-1252", relay.Windows1252, relay.Frame{"josé", "A", "", "40050500", "Serviço_Cobrança"}, "<jos\xe9><A><><40050500><Servi\xe7o_Cobran\xe7a>$"},
		{"euro sign", relay.Windows1252, relay.Frame{"jose", "G", "€"}, "<jose><G><\x80>$"},
		{"ascii untouched", relay.Windows1252, relay.Frame{"jose", "OK"}, "<jose><OK>$"},
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
	if got := string(relay.Windows1252.AppendFrame(nil, relay.Frame{"jose", "G", "✓ ok"})); got != "<jose><G><? ok>$" {
		t.Fatalf("unencodable = %q", got)
	}
	if _, err := relay.UTF8.DecodeFrame(relay.Frame{"jose", "A", "Servi\xe7o"}); err == nil {
		t.Fatal("invalid UTF-8 accepted")
	}
}

// Every byte survives Windows-1252 in both directions, the five bytes the
// code page leaves undefined included (they stand for the C1 controls).
func TestWindows1252RoundTripsEveryByte(t *testing.T) {
	t.Parallel()
	for b := 0; b <= 0xFF; b++ {
		if b == '<' || b == '>' || b == '$' {
			continue // frame syntax, not text
		}
		wire := "<jose><G><" + string([]byte{byte(b)}) + ">$"
		read, err := relay.Parse(wire)
		if err != nil {
			t.Fatalf("0x%02X: %v", b, err)
		}
		text, err := relay.Windows1252.DecodeFrame(read)
		if err != nil {
			t.Fatalf("0x%02X: %v", b, err)
		}
		if strings.ContainsRune(text[2], utf8.RuneError) {
			t.Errorf("0x%02X decodes to U+FFFD", b)
		}
		if got := string(relay.Windows1252.AppendFrame(nil, text)); got != wire {
			t.Errorf("0x%02X: %q came back as %q", b, wire, got)
		}
	}
	// The undefined bytes are the C1 controls of the same value (WHATWG).
	for _, b := range []byte{0x81, 0x8D, 0x8F, 0x90, 0x9D} {
		f, _ := relay.Windows1252.DecodeFrame(relay.Frame{string([]byte{b})})
		if want := string(rune(b)); f[0] != want {
			t.Errorf("0x%02X decodes to %q, want %q", b, f[0], want)
		}
	}
}

// The one encoding policy: what the charset cannot carry becomes '?', the
// rest of the frame is kept.
func TestCharsetReplacesWhatItCannotEncode(t *testing.T) {
	t.Parallel()
	tests := []struct{ text, wire string }{
		{"✓ ok", "? ok"},
		{"日本", "??"},
		{"\U0001F600 ção", "? \xe7\xe3o"},
		{"\u0100", "?"}, // just past Latin-1
		{"\ufffd", "?"},
	}
	for _, tt := range tests {
		got := string(relay.Windows1252.AppendFrame(nil, relay.Frame{"jose", "G", tt.text}))
		if want := "<jose><G><" + tt.wire + ">$"; got != want {
			t.Errorf("%q encodes to %q, want %q", tt.text, got, want)
		}
	}
	// UTF-8 carries every character as it is.
	if got := string(relay.UTF8.AppendFrame(nil, relay.Frame{"jose", "G", "✓"})); got != "<jose><G><✓>$" {
		t.Errorf("utf-8 = %q", got)
	}
}
